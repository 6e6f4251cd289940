"""What the conversation tests share: a citizen, an account answered by an agent, signed-in clients, and short
ways to write, answer and look at what each side sees."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import select
from tests.factories import add_staff, make_account, make_user

from loa.domains.accounts.models import Account
from loa.domains.conversations.models import MessageDailyCount
from loa.domains.people.models import User
from loa.runtime import Runtime

STATES = ("open", "waiting", "closed")


@dataclass
class Scene:
    citizen: User
    agent: User
    account: Account
    as_citizen: AsyncClient
    as_agent: AsyncClient


async def make_scene(runtime: Runtime, client_as, *, account_name: str = "Sở Y tế Hà Nội",  # type: ignore[no-untyped-def]
                     citizen_name: str = "Nguyễn Văn An", agent_name: str = "Cán bộ Lan") -> Scene:
    citizen = await make_user(runtime, name=citizen_name)
    agent = await make_user(runtime, name=agent_name)
    account = await make_account(runtime, name=account_name)
    await add_staff(runtime, account, agent, "agent")
    return Scene(citizen, agent, account, await client_as(citizen), await client_as(agent))


async def staff_of(runtime: Runtime, client_as, account: Account, role: str,  # type: ignore[no-untyped-def]
                   name: str | None = None) -> tuple[User, AsyncClient]:
    """A new staff member of the account with `role`, and a client signed in as them."""
    user = await make_user(runtime, name=name)
    await add_staff(runtime, account, user, role)
    return user, await client_as(user)


def messages_url(account_id: int) -> str:
    """Where a citizen writes to an account and reads their conversation with it."""
    return f"/api/v1/accounts/{account_id}/conversation/messages"


def uploads_url(account_id: int) -> str:
    return f"/api/v1/accounts/{account_id}/conversation/uploads"


async def write(client: AsyncClient, account_id: int, text: str, **extra: Any) -> dict[str, Any]:
    """The citizen writes a text message (asserted stored)."""
    response = await client.post(messages_url(account_id), json={"text": text, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def answer(client: AsyncClient, conversation_id: int, text: str, **extra: Any) -> dict[str, Any]:
    """Staff answer in the account's name (asserted stored)."""
    response = await client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": text, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def citizen_view(client: AsyncClient, account_id: int) -> list[dict[str, Any]]:
    """The citizen's conversation with the account, newest first ([] when there is none)."""
    response = await client.get(messages_url(account_id), params={"limit": 200})
    if response.status_code == 404:
        assert response.json()["error"]["code"] == "conversation_not_found"
        return []
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def staff_view(client: AsyncClient, conversation_id: int) -> list[dict[str, Any]]:
    """A conversation's messages as staff see them, newest first."""
    response = await client.get(f"/api/v1/conversations/{conversation_id}/messages", params={"limit": 200})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def inbox(client: AsyncClient, account_id: int, **params: Any) -> list[dict[str, Any]]:
    """One page of the account's inbox (default: the open tab)."""
    response = await client.get(f"/api/v1/accounts/{account_id}/inbox", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def inbox_ids(client: AsyncClient, account_id: int, **params: Any) -> list[int]:
    return [row["id"] for row in await inbox(client, account_id, **params)]


async def tabs(client: AsyncClient, account_id: int) -> dict[str, list[int]]:
    """Every tab of the inbox: state → conversation ids in the order shown."""
    return {state: await inbox_ids(client, account_id, state=state) for state in STATES}


async def my_conversations(client: AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/me/conversations")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def assert_error(response: Response, status: int, code: str | None = None) -> dict[str, Any]:
    """A refusal in the API's one error shape, `{"error": {"code", "message"}}`, with a non-empty message."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"].strip()
    if code is not None:
        assert error["code"] == code, error
    return error


def assert_bilingual(message: str) -> None:
    """User-visible texts are "Vietnamese / English"."""
    vietnamese, slash, english = message.partition(" / ")
    assert slash and vietnamese.strip() and english.strip(), message
    assert any(ord(ch) > 127 for ch in vietnamese), message


def private_files(runtime: Runtime) -> set[Path]:
    """Every file under the media folder's `private/` (conversation attachments)."""
    root = runtime.settings.data_dir / "media" / "private"
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


async def daily_counts(runtime: Runtime, account_id: int) -> dict[str, int]:
    """The account's message statistics, summed over the days stored (a test runs within a day or two)."""
    async with runtime.read_session() as session:
        rows = (await session.scalars(select(MessageDailyCount)
                                      .where(MessageDailyCount.account_id == account_id))).all()
    names = ("messages_in", "messages_out", "auto_replies", "conversations_started", "responses",
             "first_responses")
    return {name: sum(getattr(row, name) for row in rows) for name in names}
