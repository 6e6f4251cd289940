"""Developer page: the messages the embedded sender "sent", so one can sign in without a phone."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from loa.domains.people.models import SentMessage
from loa.kit.errors import NotFound

router = APIRouter()

PAGE_SIZE = 50


@router.get("/dev/messages", response_class=HTMLResponse)
async def dev_messages(request: Request) -> HTMLResponse:
    runtime = request.app.state.runtime
    if runtime.settings.is_production:
        raise NotFound("Không tìm thấy / Not found")
    async with runtime.read_session() as session:
        messages = list(await session.scalars(select(SentMessage).order_by(SentMessage.id.desc()).limit(PAGE_SIZE)))
    rows = "\n".join(
        f"<tr><td>{escape(m.created_at.strftime('%Y-%m-%d %H:%M:%S'))} UTC</td><td>{escape(m.channel)}</td>"
        f"<td>{escape(m.recipient)}</td><td>{escape(m.body)}</td></tr>"
        for m in messages
    ) or '<tr><td colspan="4">Chưa có tin nào / No messages yet</td></tr>'
    html = f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Tin đã gửi (phát triển) / Sent messages (development)</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: .4rem .6rem; text-align: left; vertical-align: top; }}
th {{ background: #f4f4f4; }}
</style>
</head>
<body>
<h1>Tin đã gửi / Sent messages</h1>
<p>Chỉ dùng khi phát triển: mã xác thực không được gửi đi thật. /
Development only: one-time codes are not really sent.</p>
<table>
<thead><tr><th>Lúc / At</th><th>Kênh / Channel</th><th>Người nhận / To</th><th>Nội dung / Text</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
