"""`/api/v1/live`: Server-Sent Events for the signed-in person and for one account's public events.

The stream's channels: `user:{id}` (the person's own events), `chat:{id}` (their conversations with
accounts), `account:{id}` for every account they follow, `staff:{id}` for every account they work for
and `inbox:{id}` for those whose inbox they answer; or only `account:{id}` on the public stream.
Reconnecting with `Last-Event-ID` (or `?last_event_id=` for EventSource polyfills) replays each
channel from its own position; the cursor format is described in `loa.kit.sse`. The first frame of
every stream is `event: ready`, sent once the stream is subscribed and the replay is out.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request

from loa.domains.accounts import service as accounts
from loa.domains.conversations.service import INBOX_ROLES
from loa.domains.conversations.views import chat_channel, inbox_channel
from loa.domains.follows import service as follows
from loa.domains.people.models import User
from loa.kit.auth import require_user
from loa.kit.sse import MAX_CURSOR_CHARS, EventStream, parse_cursor

router = APIRouter(tags=["live"])

AccountId = Annotated[int, Path(ge=1, le=2**62, description="Account id")]
LastEventIdHeader = Annotated[str | None, Header(alias="Last-Event-ID", max_length=MAX_CURSOR_CHARS,
                                                 description="The `id:` of the last frame received")]
LastEventIdQuery = Annotated[str | None, Query(alias="last_event_id", max_length=MAX_CURSOR_CHARS,
                                               description="As `Last-Event-ID`, for EventSource polyfills")]
PAGE = 500

STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": ("An endless `text/event-stream`: `id: <cursor>`, `event: <type>`, `data: <JSON>` frames, "
                        "a heartbeat comment about every 20 s"),
        # The schema of one event of the stream (its fields as the SSE format names them).
        "content": {"text/event-stream": {"schema": {
            "type": "object",
            "properties": {"id": {"type": "string", "description": "the cursor to resume from"},
                           "event": {"type": "string"}, "data": {"type": "string", "description": "JSON"},
                           "retry": {"type": "integer", "minimum": 0}}},
                                          "example": "id: account:12=345\nevent: broadcast.published\n"
                                                     "data: {\"id\":345,\"type\":\"broadcast.published\"}\n\n"}},
    },
}


async def channels_of(request: Request, user: User) -> list[str]:
    """The person's own channels, then the accounts they follow, then those they work for."""
    channels = [f"user:{user.id}", chat_channel(user.id)]
    async with request.app.state.runtime.read_session() as session:
        cursor: str | None = None
        while True:
            rows, cursor = await follows.followed_accounts(session, user=user, cursor=cursor, limit=PAGE)
            channels.extend(f"account:{account.id}" for account, _ in rows)
            if cursor is None:
                break
        for account, role in await accounts.accounts_of_member(session, user.id):
            channels.append(f"staff:{account.id}")
            if role in INBOX_ROLES:
                channels.append(inbox_channel(account.id))
    return channels


@router.get("/live", status_code=200, response_class=EventStream, response_model=None, responses=STREAM_RESPONSE,
            summary="My live events (Server-Sent Events)")
async def my_live(request: Request, user: Annotated[User, Depends(require_user)],
                  last_event_id: LastEventIdHeader = None,
                  last_event_id_query: LastEventIdQuery = None) -> EventStream:
    channels = await channels_of(request, user)
    cursor = parse_cursor(last_event_id or last_event_id_query, channels)
    return EventStream(request.app.state.runtime.live, channels, cursor)


@router.get("/live/accounts/{account_id}", status_code=200, response_class=EventStream, response_model=None,
            responses=STREAM_RESPONSE, summary="An account's public live events (Server-Sent Events)")
async def account_live(request: Request, account_id: AccountId, last_event_id: LastEventIdHeader = None,
                       last_event_id_query: LastEventIdQuery = None) -> EventStream:
    async with request.app.state.runtime.read_session() as session:
        await accounts.get_account(session, account_id)
    channels = [f"account:{account_id}"]
    cursor = parse_cursor(last_event_id or last_event_id_query, channels)
    return EventStream(request.app.state.runtime.live, channels, cursor)
