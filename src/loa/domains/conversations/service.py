"""Conversations: citizens write to accounts, staff answer from the inbox, automation answers for them.

Messages go through the process's group-commit writer (`writer.py`); everything else here is an
ordinary unit of work on the caller's session (the endpoint commits). Every change a live page should
see is written to the event log and published after commit: the staff's form on `inbox:{account}`,
the citizen's on `chat:{citizen}` (no staff identities, nothing internal).

Staff of an account reach only its conversations: anyone else gets 404, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from loa.db.base import utcnow
from loa.domains.accounts import service as accounts
from loa.domains.accounts.models import Account
from loa.domains.conversations import automation
from loa.domains.conversations.content import Content, clean_text
from loa.domains.conversations.models import (
    AutomationSettings,
    CannedReply,
    Conversation,
    ConversationEvent,
    ConversationLabel,
    ConversationNote,
    KeywordRuleRow,
    Message,
    MessageDailyCount,
    MessageReport,
)
from loa.domains.conversations.views import (
    chat_channel,
    citizen_event,
    conversation_summary,
    inbox_channel,
    live_payload,
    message_event,
    message_view,
)
from loa.domains.conversations.writer import (
    CONVERSATION_NOT_FOUND,
    INBOX_ROLES,
    Draft,
    MessageWriter,
    Stored,
    allocate_live_ids,
    settings_from_row,
    store_batch,
)
from loa.domains.follows import service as follows
from loa.domains.people import service as people
from loa.domains.people.models import User
from loa.kit import ratelimit
from loa.kit.effects import enqueue_after_commit, publish_after_commit
from loa.kit.errors import AppError, Conflict, Invalid, NotFound
from loa.kit.groupcommit import Guard
from loa.kit.pagination import cursor_int, decode_cursor, encode_cursor
from loa.kit.sse import replay_source
from loa.kit.storage import MediaStorage
from loa.kit.text import clean_line, fold

if TYPE_CHECKING:
    from loa.runtime import Runtime

SETTINGS_ROLES = accounts.MANAGERS
MAX_LABELS = 10
MAX_NOTE = 2000
MAX_REASON = 500
MAX_CANNED = 200
EVENT_RETENTION = timedelta(days=7)
REPLAY_PAGE = 500


def writer(runtime: Runtime) -> MessageWriter:
    return runtime.part("conversations.writer", MessageWriter)


# --- sending ---------------------------------------------------------------------------------------------


async def _submit(runtime: Runtime, draft: Draft, storage: MediaStorage | None, guard: Guard | None = None) -> Stored:
    try:
        stored = await writer(runtime).submit(draft, guard=guard)
    except AppError:
        if storage is not None:  # a refused message keeps nothing, its upload included
            for key in draft.content.stored_keys:
                await storage.delete(key)
        raise
    if stored.duplicate and storage is not None:  # a retry: the first upload's files are the message's
        for key in draft.content.stored_keys:
            await storage.delete(key)
    return stored


async def send_as_citizen(runtime: Runtime, *, citizen: User, account_id: int, content: Content,
                          client_ref: str | None = None, storage: MediaStorage | None = None) -> Stored:
    """A citizen writes to an account (followed or not), which opens their conversation if needed."""
    return await _submit(runtime, Draft("citizen", account_id, citizen.id, content, client_ref=client_ref), storage)


async def check_citizen_rate(runtime: Runtime, citizen: User) -> None:
    """The per-citizen message budget (429 with Retry-After once spent), counted before anything is stored."""
    await ratelimit.hit(runtime, "message", f"user:{citizen.id}", runtime.settings.message_limit_per_citizen)


async def send_as_staff(runtime: Runtime, *, actor: User, conversation: Conversation, content: Content,
                        client_ref: str | None = None, storage: MediaStorage | None = None) -> Stored:
    """A reply in the account's name to a conversation `staff_conversation` gave the actor; the staff member
    is recorded, shown to staff only."""
    draft = Draft("staff", conversation.account_id, conversation.citizen_id, content, sent_by=actor.id,
                  sent_by_name=actor.display_name, client_ref=client_ref)
    return await _submit(runtime, draft, storage)


async def reply_in_conversation(runtime: Runtime, *, actor: User, account_id: int, conversation_id: int,
                                content: Content, client_ref: str | None = None,
                                storage: MediaStorage | None = None, guard: Guard | None = None) -> Stored:
    """`send_as_staff` to a conversation named by id, for a call that only sends (an app's): the batch that
    stores the reply checks, in its own transaction, that the conversation is the account's and that the actor
    answers its inbox (anyone else: 404), so no read comes first. `guard`: see `GroupCommitWriter.submit`."""
    draft = Draft("staff", account_id, None, content, sent_by=actor.id, sent_by_name=actor.display_name,
                  client_ref=client_ref, conversation_id=conversation_id)
    return await _submit(runtime, draft, storage, guard)


async def start_conversation(runtime: Runtime, *, actor: User, account_id: int, citizen_id: int, content: Content,
                             client_ref: str | None = None) -> Stored:
    """Staff write first: only to a citizen who follows the account or has written to it."""
    async with runtime.read_session() as session:
        await accounts.get_account(session, account_id)
        await accounts.require_role(session, account_id, actor, INBOX_ROLES)
        if await session.get(User, citizen_id) is None:
            raise NotFound("Không tìm thấy người dùng / User not found", code="user_not_found")
    draft = Draft("staff", account_id, citizen_id, content, sent_by=actor.id, sent_by_name=actor.display_name,
                  client_ref=client_ref)
    return await writer(runtime).submit(draft)


async def welcome_on_follow(session: AsyncSession, account: Account, user: User) -> None:
    """The account's welcome message, in the follow's own transaction, when the account has one."""
    row = await session.get(AutomationSettings, account.id)
    if row is None or not row.welcome_enabled or not row.welcome_text:
        return
    content = Content(kind="text", text=row.welcome_text)
    result = await store_batch(session, [Draft("welcome", account.id, user.id, content)])
    for channel, payload in result.events:
        publish_after_commit(session, channel, payload)


follows.register_follow_hook(welcome_on_follow)


# --- access ----------------------------------------------------------------------------------------------


# Built once: every app call and staff reply asks, and building the statement cost as much as running it.
_STAFF_CONVERSATION = (select(Conversation, accounts.role_on(Conversation.account_id, bindparam("actor_id")))
                       .where(Conversation.id == bindparam("conversation_id")))


async def staff_conversation(session: AsyncSession, actor: User, conversation_id: int,
                             roles: Sequence[str] = INBOX_ROLES) -> Conversation:
    """The conversation, for the inbox staff of its own account only (anyone else: 404). One query: the
    conversation with the actor's role on its account."""
    found = (await session.execute(_STAFF_CONVERSATION, {"actor_id": actor.id,
                                                         "conversation_id": conversation_id})).first()
    return _staff_only(found, roles).Conversation


def _staff_only(found: Row[Any] | None, roles: Sequence[str]) -> Row[Any]:
    """The row of a conversation with the actor's role, if the role lets them in (anyone else: 404)."""
    if found is None or found.role not in roles:
        raise NotFound(CONVERSATION_NOT_FOUND, code="conversation_not_found")
    return found


async def citizen_conversation(session: AsyncSession, citizen: User, account_id: int) -> Conversation:
    conversation = await session.scalar(select(Conversation).where(
        Conversation.account_id == account_id, Conversation.citizen_id == citizen.id))
    if conversation is None:
        raise NotFound(CONVERSATION_NOT_FOUND, code="conversation_not_found")
    return conversation


async def conversation_with(session: AsyncSession, *, account_id: int, citizen_id: int) -> Conversation | None:
    """The account's conversation with a citizen, if they have one."""
    return await session.scalar(select(Conversation).where(Conversation.account_id == account_id,
                                                           Conversation.citizen_id == citizen_id))


async def conversation_of_message(session: AsyncSession, *, account_id: int, message_id: int) -> Conversation | None:
    """The conversation of one of the account's messages (None: no such message of this account)."""
    return await session.scalar(select(Conversation).join(Message, Message.conversation_id == Conversation.id)
                                .where(Message.id == message_id, Conversation.account_id == account_id))


async def recent_chats(session: AsyncSession, *, actor: User, account_id: int, offset: int,
                       limit: int) -> list[tuple[Message, int, str]]:
    """The account's conversations by their latest message, newest first, paged by offset: each one's last
    message with its citizen's id and name (the Zalo-compatible surface's recent chats)."""
    await accounts.require_role(session, account_id, actor, INBOX_ROLES)
    rows = await session.execute(
        select(Message, User.id, User.display_name).join(Conversation, Conversation.last_message_id == Message.id)
        .join(User, User.id == Conversation.citizen_id).where(Conversation.account_id == account_id)
        .order_by(Conversation.last_message_id.desc()).offset(offset).limit(limit))
    return [(message, user_id, name) for message, user_id, name in rows.all()]


async def messages_with(session: AsyncSession, *, actor: User, account_id: int, citizen_id: int, offset: int,
                        limit: int) -> tuple[str, list[Message]] | None:
    """The citizen's name and a page (by offset, newest first) of their conversation with the account; None
    when they have none."""
    await accounts.require_role(session, account_id, actor, INBOX_ROLES)
    found = (await session.execute(select(Conversation.id, User.display_name)
                                   .join(User, User.id == Conversation.citizen_id)
                                   .where(Conversation.account_id == account_id,
                                          Conversation.citizen_id == citizen_id))).first()
    if found is None:
        return None
    conversation_id, name = found
    messages = await session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                     .order_by(Message.id.desc()).offset(offset).limit(limit))
    return name, list(messages)


async def message_for(session: AsyncSession, user: User, message_id: int) -> Message:
    """A message, for the citizen of its conversation or the account's inbox staff (anyone else: 404)."""
    message = await session.get(Message, message_id)
    if message is not None:
        conversation = await session.get(Conversation, message.conversation_id)
        if conversation is not None and (
                conversation.citizen_id == user.id
                or await accounts.member_role(session, conversation.account_id, user.id) in INBOX_ROLES):
            return message
    raise NotFound("Không tìm thấy tin nhắn / Message not found", code="message_not_found")


# --- events of the unit of work ---------------------------------------------------------------------------


async def record_event(session: AsyncSession, conversation: Conversation, event_type: str, payload: dict[str, Any],
                       *, citizen_visible: bool) -> None:
    """Log a change for replay and publish it after commit: staff's form to the inbox, citizen's to the chat."""
    payload = {"conversation_id": conversation.id, "account_id": conversation.account_id, **payload,
               "conversation": conversation_summary(conversation.__dict__)}
    [event_id] = await allocate_live_ids(session, 1)
    event = ConversationEvent(id=event_id, account_id=conversation.account_id, citizen_id=conversation.citizen_id,
                              conversation_id=conversation.id, type=event_type, payload=payload,
                              citizen_visible=citizen_visible)
    session.add(event)
    await session.flush()
    live = live_payload(event.id, event_type, payload)
    publish_after_commit(session, inbox_channel(conversation.account_id), live)
    if citizen_visible:
        publish_after_commit(session, chat_channel(conversation.citizen_id), citizen_event(live))


LiveEvents = list[tuple[int, str, dict[str, Any]]]


@replay_source("inbox")
async def replay_inbox(runtime: Runtime, channel: str, after: int | None) -> LiveEvents:
    account_id = int(channel.partition(":")[2])
    return await _replay(runtime, after, citizen=False, events=ConversationEvent.account_id == account_id,
                         messages=Message.account_id == account_id)


@replay_source("chat")
async def replay_chat(runtime: Runtime, channel: str, after: int | None) -> LiveEvents:
    citizen_id = int(channel.partition(":")[2])
    return await _replay(runtime, after, citizen=True,
                         events=(ConversationEvent.citizen_id == citizen_id)
                         & ConversationEvent.citizen_visible.is_(True),
                         messages=Message.conversation_id.in_(
                             select(Conversation.id).where(Conversation.citizen_id == citizen_id)))


async def _replay(runtime: Runtime, after: int | None, *, citizen: bool, events: Any, messages: Any) -> LiveEvents:
    """A channel's messages and other events after `after`, in id order (they share one sequence); with no
    position, only the latest, which marks where the client starts."""
    event_query = select(ConversationEvent.id, ConversationEvent.type, ConversationEvent.payload).where(events)
    message_query = (select(Message, Conversation, User.display_name)
                     .join(Conversation, Conversation.id == Message.conversation_id)
                     .outerjoin(User, User.id == Message.sent_by).where(messages))
    if after is None:
        event_query = event_query.order_by(ConversationEvent.id.desc()).limit(1)
        message_query = message_query.order_by(Message.id.desc()).limit(1)
    else:
        event_query = event_query.where(ConversationEvent.id > after).order_by(ConversationEvent.id).limit(REPLAY_PAGE)
        message_query = message_query.where(Message.id > after).order_by(Message.id).limit(REPLAY_PAGE)
    async with runtime.read_session() as session:
        found = [live_payload(event_id, event_type, payload)
                 for event_id, event_type, payload in (await session.execute(event_query)).all()]
        for message, conversation, name in (await session.execute(message_query)).all():
            body = message_event(message.__dict__, conversation_summary(conversation.__dict__), sent_by_name=name)
            found.append(live_payload(message.id, "message", body))
    found.sort(key=lambda event: event["id"])
    found = found[-1:] if after is None else found[:REPLAY_PAGE]
    return [(event["id"], event["type"], citizen_event(event) if citizen else event) for event in found]


async def prune_events(session: AsyncSession) -> int:
    """Drop live events older than the replay window (pages that were away longer reload instead)."""
    result = await session.execute(delete(ConversationEvent).where(
        ConversationEvent.created_at < utcnow() - EVENT_RETENTION))
    return result.rowcount or 0


# --- reading -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxRow:
    conversation: Conversation
    citizen_name: str
    assignee_name: str | None
    labels: list[str]


async def inbox(session: AsyncSession, *, actor: User, account_id: int, state: str = "open", view: str = "all",
                label: str | None = None, cursor: str | None = None,
                limit: int = 30) -> tuple[list[InboxRow], str | None]:
    """One state's conversations, unread first, newest first (an index walk: no messages read)."""
    await accounts.require_account_role(session, account_id, actor, INBOX_ROLES)
    position = decode_cursor(cursor)
    if label:  # the label's rows carry the sort key: one index range, however many conversations it has
        query = (select(Conversation).join(ConversationLabel, ConversationLabel.conversation_id == Conversation.id)
                 .where(ConversationLabel.account_id == account_id, ConversationLabel.label == normalise_label(label),
                        ConversationLabel.state == state))
        unread_key, last_key = ConversationLabel.has_unread, ConversationLabel.last_message_id
    else:
        query = select(Conversation).where(Conversation.account_id == account_id, Conversation.state == state)
        unread_key, last_key = Conversation.has_unread, Conversation.last_message_id
    if position is not None:
        unread = cursor_int(position, "unread")
        last = cursor_int(position, "last")
        after_in_group = (unread_key == bool(unread)) & (last_key < last)
        # Unread rows come first: after an unread one, every read one follows too.
        query = query.where(or_(unread_key.is_(False), after_in_group) if unread else after_in_group)
    if view == "mine":
        query = query.where(Conversation.assigned_to == actor.id)
    elif view == "unassigned":
        query = query.where(Conversation.assigned_to.is_(None))
    query = query.order_by(unread_key.desc(), last_key.desc()).limit(limit + 1)
    found = list((await session.scalars(query)).all())
    page = found[:limit]
    next_cursor = None
    if len(found) > limit:
        last_row = page[-1]
        next_cursor = encode_cursor({"unread": int(last_row.has_unread), "last": last_row.last_message_id})
    return await _inbox_rows(session, page), next_cursor


async def _inbox_rows(session: AsyncSession, conversations: list[Conversation]) -> list[InboxRow]:
    if not conversations:
        return []
    user_ids = {c.citizen_id for c in conversations} | {c.assigned_to for c in conversations if c.assigned_to}
    names = dict((await session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))).all())
    labels: dict[int, list[str]] = {}
    for conversation_id, name in await session.execute(
            select(ConversationLabel.conversation_id, ConversationLabel.label)
            .where(ConversationLabel.conversation_id.in_([c.id for c in conversations]))
            .order_by(ConversationLabel.label)):
        labels.setdefault(conversation_id, []).append(name)
    return [InboxRow(c, names.get(c.citizen_id, ""), names.get(c.assigned_to) if c.assigned_to else None,
                     labels.get(c.id, [])) for c in conversations]


async def inbox_row(session: AsyncSession, conversation: Conversation) -> InboxRow:
    return (await _inbox_rows(session, [conversation]))[0]


async def _messages(session: AsyncSession, conversation_id: int, *, before: int | None, limit: int,
                    staff: bool) -> tuple[list[dict[str, Any]], str | None]:
    query = (select(Message, User.display_name).outerjoin(User, User.id == Message.sent_by)
             .where(Message.conversation_id == conversation_id).order_by(Message.id.desc()).limit(limit + 1))
    if before is not None:
        query = query.where(Message.id < before)
    rows = (await session.execute(query)).all()
    views = [message_view(message.__dict__, sent_by_name=name, staff=staff) for message, name in rows[:limit]]
    next_cursor = encode_cursor({"before": rows[limit - 1][0].id}) if len(rows) > limit else None
    return views, next_cursor


async def staff_messages(session: AsyncSession, *, actor: User, conversation_id: int, cursor: str | None,
                         limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; staff see who of them wrote each reply."""
    await staff_conversation(session, actor, conversation_id)
    before = cursor_int(decode_cursor(cursor), "before")
    return await _messages(session, conversation_id, before=before, limit=limit, staff=True)


async def citizen_messages(session: AsyncSession, *, citizen: User, account_id: int, cursor: str | None,
                           limit: int) -> tuple[list[dict[str, Any]], str | None]:
    conversation = await citizen_conversation(session, citizen, account_id)
    before = cursor_int(decode_cursor(cursor), "before")
    return await _messages(session, conversation.id, before=before, limit=limit, staff=False)


async def citizen_conversations(session: AsyncSession, *, citizen: User, cursor: str | None,
                                limit: int) -> tuple[list[tuple[Conversation, Account]], str | None]:
    """The citizen's conversations with every account, latest first."""
    before = cursor_int(decode_cursor(cursor), "before")
    query = (select(Conversation, Account).join(Account, Account.id == Conversation.account_id)
             .where(Conversation.citizen_id == citizen.id)
             .order_by(Conversation.last_message_id.desc()).limit(limit + 1))
    if before is not None:
        query = query.where(Conversation.last_message_id < before)
    rows = [(conversation, account) for conversation, account in (await session.execute(query)).all()]
    next_cursor = encode_cursor({"before": rows[limit - 1][0].last_message_id}) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def search(session: AsyncSession, *, actor: User, account_id: int, q: str, cursor: str | None,
                 limit: int) -> tuple[list[tuple[dict[str, Any], str]], str | None]:
    """Messages of the account's conversations containing every word (diacritics folded), newest first,
    each with its citizen's name."""
    await accounts.get_account(session, account_id)
    await accounts.require_role(session, account_id, actor, INBOX_ROLES)
    words = fold(q).split()
    if not words or len(q) > 200:
        raise Invalid("Nhập từ cần tìm (tối đa 200 ký tự) / Enter words to search for (200 characters at most)",
                      code="invalid_query")
    before = cursor_int(decode_cursor(cursor), "before")
    citizen = (select(Conversation.citizen_id).where(Conversation.id == Message.conversation_id)
               .scalar_subquery())
    sender = aliased(User)
    query = (select(Message, User.display_name, sender.display_name).select_from(Message)
             .join(User, User.id == citizen)
             .outerjoin(sender, sender.id == Message.sent_by)
             .where(Message.account_id == account_id).order_by(Message.id.desc()).limit(limit + 1))
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Message.text_folded.like(f"%{escaped}%", escape="\\"))
    if before is not None:
        query = query.where(Message.id < before)
    rows = (await session.execute(query)).all()
    found = [(message_view(message.__dict__, sent_by_name=sender_name, staff=True), name)
             for message, name, sender_name in rows[:limit]]
    next_cursor = encode_cursor({"before": rows[limit - 1][0].id}) if len(rows) > limit else None
    return found, next_cursor


async def day_counts(session: AsyncSession, *, account_id: int, day: date) -> MessageDailyCount:
    """The account's message figures of one Vietnamese day, as the writer keeps them (one row read; zeros for
    a quiet day)."""
    row = await session.get(MessageDailyCount, (account_id, day))
    return row if row is not None else MessageDailyCount(account_id=account_id, day=day, messages_in=0,
                                                         messages_out=0, auto_replies=0, conversations_started=0,
                                                         responses=0, response_seconds=0, first_responses=0,
                                                         first_response_seconds=0)


async def awaiting_answer(session: AsyncSession, *, account_id: int) -> int:
    """Open conversations with messages staff have not read (a range of the inbox index)."""
    return await session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.account_id == account_id, Conversation.state == "open",
        Conversation.has_unread.is_(True))) or 0


# --- read receipts -----------------------------------------------------------------------------------------


async def _seen_up_to(session: AsyncSession, conversation: Conversation, message_id: int | None) -> int:
    last = conversation.last_message_id
    if message_id is None:
        return last
    if message_id > last or await session.scalar(select(Message.id).where(
            Message.id == message_id, Message.conversation_id == conversation.id)) is None:
        raise Invalid("Tin nhắn không thuộc cuộc hội thoại / The message is not in this conversation",
                      code="message_not_in_conversation")
    return message_id


async def _unread_after(session: AsyncSession, conversation_id: int, direction: str, after: int) -> int:
    return await session.scalar(select(func.count()).select_from(Message).where(
        Message.conversation_id == conversation_id, Message.direction == direction, Message.id > after)) or 0


async def citizen_mark_seen(session: AsyncSession, *, citizen: User, account_id: int,
                            message_id: int | None = None) -> Conversation:
    """The citizen has read the account's messages up to `message_id` (default: all)."""
    conversation = await citizen_conversation(session, citizen, account_id)
    up_to = await _seen_up_to(session, conversation, message_id)
    if up_to <= conversation.citizen_seen_message_id:
        return conversation
    conversation.citizen_seen_message_id = up_to
    conversation.citizen_unread = await _unread_after(session, conversation.id, "out", up_to)
    await record_event(session, conversation, "seen", {"by": "citizen", "message_id": up_to}, citizen_visible=True)
    return conversation


async def staff_mark_seen(session: AsyncSession, *, actor: User, conversation_id: int,
                          message_id: int | None = None) -> Conversation:
    """The account has read the citizen's messages up to `message_id`: the citizen sees "seen"."""
    conversation = await staff_conversation(session, actor, conversation_id)
    up_to = await _seen_up_to(session, conversation, message_id)
    if up_to <= conversation.staff_seen_message_id:
        return conversation
    conversation.staff_seen_message_id = up_to
    conversation.staff_unread = await _unread_after(session, conversation.id, "in", up_to)
    conversation.has_unread = conversation.staff_unread > 0
    await _label_keys(session, conversation)
    await record_event(session, conversation, "seen", {"by": "account", "message_id": up_to, "actor": actor.id},
                       citizen_visible=True)
    return conversation


async def _label_keys(session: AsyncSession, conversation: Conversation) -> None:
    """The conversation's labels follow its inbox sort key (see `ConversationLabel`)."""
    await session.execute(update(ConversationLabel).where(ConversationLabel.conversation_id == conversation.id)
                          .values(state=conversation.state, has_unread=conversation.has_unread,
                                  last_message_id=conversation.last_message_id))


# --- the inbox's work --------------------------------------------------------------------------------------


async def assign(session: AsyncSession, *, actor: User, conversation_id: int, assignee_id: int | None) -> Conversation:
    conversation = await staff_conversation(session, actor, conversation_id)
    if assignee_id is not None and await accounts.member_role(session, conversation.account_id,
                                                              assignee_id) not in INBOX_ROLES:
        raise Invalid("Chỉ giao cho nhân viên trả lời tin nhắn của tài khoản / "
                      "Assign only to the account's inbox staff", code="not_inbox_staff")
    if conversation.assigned_to == assignee_id:
        return conversation
    conversation.assigned_to = assignee_id
    await record_event(session, conversation, "assigned", {"assigned_to": assignee_id, "actor": actor.id},
                       citizen_visible=False)
    return conversation


async def set_state(session: AsyncSession, *, actor: User, conversation_id: int, state: str) -> Conversation:
    conversation = await staff_conversation(session, actor, conversation_id)
    if conversation.state == state:
        return conversation
    conversation.state = state
    await _label_keys(session, conversation)
    await record_event(session, conversation, "state", {"state": state, "actor": actor.id}, citizen_visible=False)
    return conversation


async def add_note(session: AsyncSession, *, actor: User, conversation_id: int, text: str) -> ConversationNote:
    conversation = await staff_conversation(session, actor, conversation_id)
    note = ConversationNote(conversation_id=conversation.id, account_id=conversation.account_id, author_id=actor.id,
                            text=clean_text(text, limit=MAX_NOTE))
    session.add(note)
    await session.flush()
    await record_event(session, conversation, "note", {"note_id": note.id, "actor": actor.id}, citizen_visible=False)
    return note


async def list_notes(session: AsyncSession, *, actor: User,
                     conversation_id: int) -> list[tuple[ConversationNote, str | None]]:
    await staff_conversation(session, actor, conversation_id)
    rows = await session.execute(
        select(ConversationNote, User.display_name).outerjoin(User, User.id == ConversationNote.author_id)
        .where(ConversationNote.conversation_id == conversation_id).order_by(ConversationNote.id))
    return [(note, name) for note, name in rows.all()]


def normalise_label(label: str) -> str:
    cleaned = clean_line(label)[:40]
    if not cleaned:
        raise Invalid("Nhãn không được để trống / A label cannot be empty", code="invalid_label")
    return cleaned.casefold()


async def set_labels(session: AsyncSession, *, actor: User, conversation_id: int,
                     labels: Sequence[str]) -> list[str]:
    conversation = await staff_conversation(session, actor, conversation_id)
    wanted = sorted({normalise_label(label) for label in labels})
    if len(wanted) > MAX_LABELS:
        raise Invalid(f"Tối đa {MAX_LABELS} nhãn / {MAX_LABELS} labels at most", code="too_many_labels")
    await session.execute(delete(ConversationLabel).where(ConversationLabel.conversation_id == conversation.id))
    session.add_all(ConversationLabel(conversation_id=conversation.id, label=label, account_id=conversation.account_id,
                                      state=conversation.state, has_unread=conversation.has_unread,
                                      last_message_id=conversation.last_message_id) for label in wanted)
    await record_event(session, conversation, "labels", {"labels": wanted, "actor": actor.id}, citizen_visible=False)
    return wanted


async def labels_of(session: AsyncSession, conversation_id: int) -> list[str]:
    return list((await session.scalars(select(ConversationLabel.label).where(
        ConversationLabel.conversation_id == conversation_id).order_by(ConversationLabel.label))).all())


# --- canned replies ----------------------------------------------------------------------------------------


async def list_canned(session: AsyncSession, *, actor: User, account_id: int) -> list[CannedReply]:
    await accounts.get_account(session, account_id)
    await accounts.require_role(session, account_id, actor, INBOX_ROLES)
    return list((await session.scalars(select(CannedReply).where(CannedReply.account_id == account_id)
                                       .order_by(CannedReply.title, CannedReply.id))).all())


async def create_canned(session: AsyncSession, *, actor: User, account_id: int, title: str, text: str) -> CannedReply:
    await accounts.get_account(session, account_id)
    await accounts.require_role(session, account_id, actor, INBOX_ROLES)
    count = await session.scalar(select(func.count()).select_from(CannedReply)
                                 .where(CannedReply.account_id == account_id)) or 0
    if count >= MAX_CANNED:
        raise Conflict(f"Tối đa {MAX_CANNED} câu trả lời mẫu / {MAX_CANNED} canned replies at most",
                       code="too_many_canned_replies")
    reply = CannedReply(account_id=account_id, title=_canned_title(title), text=clean_text(text), created_by=actor.id)
    session.add(reply)
    await session.flush()
    return reply


def _canned_title(title: str) -> str:
    cleaned = clean_line(title)
    if not cleaned or len(cleaned) > 100:
        raise Invalid("Tiêu đề cần 1–100 ký tự / The title needs 1–100 characters", code="invalid_title")
    return cleaned


async def _staff_canned(session: AsyncSession, actor: User, reply_id: int) -> CannedReply:
    reply = await session.get(CannedReply, reply_id)
    if reply is None or await accounts.member_role(session, reply.account_id, actor.id) not in INBOX_ROLES:
        raise NotFound("Không tìm thấy câu trả lời mẫu / Canned reply not found", code="canned_reply_not_found")
    return reply


async def update_canned(session: AsyncSession, *, actor: User, reply_id: int, title: str | None,
                        text: str | None) -> CannedReply:
    reply = await _staff_canned(session, actor, reply_id)
    if title is not None:
        reply.title = _canned_title(title)
    if text is not None:
        reply.text = clean_text(text)
    await session.flush()
    return reply


async def delete_canned(session: AsyncSession, *, actor: User, reply_id: int) -> None:
    await session.delete(await _staff_canned(session, actor, reply_id))


# --- automation settings -----------------------------------------------------------------------------------


async def get_automation(session: AsyncSession, *, actor: User, account_id: int) -> automation.AutomationSettings:
    await accounts.get_account(session, account_id)
    await accounts.require_role(session, account_id, actor, INBOX_ROLES)
    row = await session.get(AutomationSettings, account_id)
    return settings_from_row(row) if row is not None else automation.DEFAULT_SETTINGS


async def set_automation(session: AsyncSession, *, actor: User, account_id: int,
                         settings: automation.AutomationSettingsIn) -> automation.AutomationSettings:
    """Replace the account's automatic answers (account admins only)."""
    await accounts.get_account(session, account_id)
    await accounts.require_role(session, account_id, actor, SETTINGS_ROLES)
    row = await session.get(AutomationSettings, account_id)
    if row is None:
        row = AutomationSettings(account_id=account_id)
        session.add(row)
    row.welcome_enabled = settings.welcome_enabled
    row.welcome_text = settings.welcome_text
    row.out_of_hours_enabled = settings.out_of_hours_enabled
    row.out_of_hours_text = settings.out_of_hours_text
    row.office_hours = automation.office_hours_to_json(settings.office_hours.to_office_hours())
    row.updated_by = actor.id
    await session.flush()
    return settings_from_row(row)


async def list_rules(session: AsyncSession, *, actor: User, account_id: int) -> list[KeywordRuleRow]:
    await accounts.get_account(session, account_id)
    await accounts.require_role(session, account_id, actor, INBOX_ROLES)
    return list((await session.scalars(select(KeywordRuleRow).where(KeywordRuleRow.account_id == account_id)
                                       .order_by(KeywordRuleRow.priority, KeywordRuleRow.id))).all())


MAX_RULES = 200


async def create_rule(session: AsyncSession, *, actor: User, account_id: int,
                      rule: automation.KeywordRuleIn) -> KeywordRuleRow:
    await accounts.get_account(session, account_id)
    await accounts.require_role(session, account_id, actor, SETTINGS_ROLES)
    count = await session.scalar(select(func.count()).select_from(KeywordRuleRow)
                                 .where(KeywordRuleRow.account_id == account_id)) or 0
    if count >= MAX_RULES:
        raise Conflict(f"Tối đa {MAX_RULES} quy tắc / {MAX_RULES} rules at most", code="too_many_rules")
    row = KeywordRuleRow(account_id=account_id, priority=rule.priority, keywords=list(rule.keywords),
                         match=rule.match, reply=rule.reply, enabled=rule.enabled)
    session.add(row)
    await session.flush()
    return row


async def _managed_rule(session: AsyncSession, actor: User, rule_id: int) -> KeywordRuleRow:
    row = await session.get(KeywordRuleRow, rule_id)
    if row is None or await accounts.member_role(session, row.account_id, actor.id) is None:
        raise NotFound("Không tìm thấy quy tắc / Rule not found", code="rule_not_found")
    await accounts.require_role(session, row.account_id, actor, SETTINGS_ROLES)
    return row


async def replace_rule(session: AsyncSession, *, actor: User, rule_id: int,
                       rule: automation.KeywordRuleIn) -> KeywordRuleRow:
    row = await _managed_rule(session, actor, rule_id)
    row.priority, row.keywords, row.match = rule.priority, list(rule.keywords), rule.match
    row.reply, row.enabled = rule.reply, rule.enabled
    await session.flush()
    return row


async def delete_rule(session: AsyncSession, *, actor: User, rule_id: int) -> None:
    await session.delete(await _managed_rule(session, actor, rule_id))


# --- abuse ----------------------------------------------------------------------------------------------------


async def report_spam(session: AsyncSession, *, actor: User, conversation_id: int, reason: str,
                      block: bool) -> MessageReport:
    """Staff mark a conversation as spam: it is closed, reported to the operators, the citizen blocked if asked."""
    conversation = await staff_conversation(session, actor, conversation_id)
    report = MessageReport(conversation_id=conversation.id, account_id=conversation.account_id, side="staff",
                           reporter_id=actor.id, reason=clean_text(reason, limit=MAX_REASON, required=False))
    session.add(report)
    if block:
        await follows.block_follower(session, account_id=conversation.account_id, actor=actor,
                                     user_id=conversation.citizen_id, reason=report.reason or "spam")
    await set_state(session, actor=actor, conversation_id=conversation.id, state="closed")
    await session.flush()
    return report


async def report_account(session: AsyncSession, *, citizen: User, account_id: int, reason: str) -> MessageReport:
    """A citizen reports an account's messages as spam or abuse, for the operators."""
    conversation = await citizen_conversation(session, citizen, account_id)
    report = MessageReport(conversation_id=conversation.id, account_id=account_id, side="citizen",
                           reporter_id=citizen.id, reason=clean_text(reason, limit=MAX_REASON, required=False))
    session.add(report)
    await session.flush()
    return report


async def list_reports(session: AsyncSession, *, status: str | None, cursor: str | None,
                       limit: int) -> tuple[list[MessageReport], str | None]:
    """For operators (the endpoint checks): newest first."""
    before = cursor_int(decode_cursor(cursor), "before")
    query = select(MessageReport).order_by(MessageReport.id.desc()).limit(limit + 1)
    if status:
        query = query.where(MessageReport.status == status)
    if before is not None:
        query = query.where(MessageReport.id < before)
    rows = list((await session.scalars(query)).all())
    return rows[:limit], encode_cursor({"before": rows[limit - 1].id}) if len(rows) > limit else None


async def review_report(session: AsyncSession, report_id: int) -> MessageReport:
    report = await session.get(MessageReport, report_id)
    if report is None:
        raise NotFound("Không tìm thấy báo cáo / Report not found", code="report_not_found")
    report.status = "reviewed"
    await session.flush()
    return report


# --- personal data -------------------------------------------------------------------------------------------


async def export_conversations(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """A citizen's conversations with every message, as they saw them (no staff identities)."""
    exported = []
    conversations = (await session.execute(
        select(Conversation, Account.name).join(Account, Account.id == Conversation.account_id)
        .where(Conversation.citizen_id == user_id).order_by(Conversation.id))).all()
    for conversation, account_name in conversations:
        messages = (await session.scalars(select(Message).where(Message.conversation_id == conversation.id)
                                          .order_by(Message.id))).all()
        exported.append({"account_id": conversation.account_id, "account_name": account_name,
                         "messages": [message_view(m.__dict__, staff=False) for m in messages]})
    return exported


async def erase_conversations(session: AsyncSession, user_id: int) -> None:
    """A citizen's conversations go with them, their photos and documents too once the deletion has
    committed (the daily counts, which name nobody, stay)."""
    attachments = await session.scalars(select(Message.attachment).where(
        Message.conversation_id.in_(select(Conversation.id).where(Conversation.citizen_id == user_id)),
        Message.kind.in_(("image", "file"))))
    keys = sorted({key for attachment in attachments if attachment
                   for key in (attachment.get("key"), attachment.get("thumbnail_key")) if key})
    if keys:
        enqueue_after_commit(session, "conversations.delete_files", keys=keys)
    await session.execute(delete(ConversationEvent).where(ConversationEvent.citizen_id == user_id))
    await session.execute(delete(Conversation).where(Conversation.citizen_id == user_id))


people.register_exporter("conversations", export_conversations)
people.register_eraser("conversations", erase_conversations)
