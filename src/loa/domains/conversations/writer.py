"""Storing messages: many senders, one writer, one transaction per batch (group commit, `kit.groupcommit`).

A batch: conversations looked up (and created) with one query, messages inserted with `executemany`,
conversation counters and the daily counts updated once per row, then one commit. Each sender is answered
when its batch has committed, and the batch's events are published in order.

`store_batch` does the database work on any session; the welcome message on follow runs it inside the
follow's own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from loa.db.base import utcnow
from loa.db.raw import RawSelect, RawWrite, Values, dialect_insert, dialect_of, insert_of
from loa.domains.accounts import service as accounts
from loa.domains.conversations import automation
from loa.domains.conversations.content import Content
from loa.domains.conversations.models import (
    AutomationSettings,
    Conversation,
    ConversationLabel,
    KeywordRuleRow,
    Message,
    MessageDailyCount,
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
from loa.domains.follows import service as follows
from loa.kit.errors import AppError, Forbidden, NotFound
from loa.kit.groupcommit import Batch, GroupCommitWriter

if TYPE_CHECKING:
    from loa.runtime import Runtime

CONVERSATIONS = Conversation.__table__
MESSAGES = Message.__table__
DAILY = MessageDailyCount.__table__
MAX_BATCH = 1000

# Who answers the inbox; editors write broadcasts and viewers read statistics.
INBOX_ROLES = ("owner", "admin", "agent")
CONVERSATION_NOT_FOUND = "Không tìm thấy cuộc hội thoại / Conversation not found"
ACCOUNT_NOT_FOUND = "Không tìm thấy tài khoản / Account not found"
BLOCKED = ("Tài khoản này đã chặn bạn nên bạn không thể gửi tin nhắn / "
           "This account has blocked you: you cannot message it")
CANNOT_START = ("Tài khoản chỉ nhắn được cho người đã theo dõi hoặc đã nhắn tin cho tài khoản / "
                "An account may only message people who follow it or have written to it")
# Columns the writer sets on a conversation row.
_MUTABLE = ("state", "last_message_id", "last_message_at", "last_message_preview", "last_direction",
            "last_inbound_at", "has_unread", "staff_unread", "citizen_unread", "staff_seen_message_id",
            "messages_in", "messages_out", "awaiting_since", "first_response_seconds", "responses",
            "response_seconds_total", "last_out_of_hours_reply_at")
# What a batch reads of a conversation: what it changes, and what the inbox row it publishes shows.
_LOADED = ("id", "account_id", "citizen_id", "assigned_to", *_MUTABLE)
_TIMES = frozenset({"last_message_at", "last_inbound_at", "awaiting_since", "last_out_of_hours_reply_at"})
_MESSAGE_COLUMNS = ("id", "conversation_id", "account_id", "direction", "kind", "text", "text_folded", "attachment",
                    "latitude", "longitude", "commune_code", "url", "sent_by", "auto", "client_ref", "created_at")
# Driver-level statements (see loa.db.raw): this is the path whose rate the platform is measured by.
INSERT_MESSAGE = RawWrite.insert(MESSAGES, _MESSAGE_COLUMNS)
UPDATE_CONVERSATION = RawWrite.update(CONVERSATIONS, _MUTABLE)
SELECT_CONVERSATIONS = RawSelect("conversations", _LOADED, where_in="citizen_id", order_by="id", lock=True)
# Labels carry their conversation's inbox sort key (an index lookup per conversation without labels).
UPDATE_LABEL_KEYS = RawWrite.update(ConversationLabel.__table__, ("state", "has_unread", "last_message_id"),
                                    key="conversation_id")
# Built once: building it cost as much as running it.
_STORED_REFERENCES = select(MESSAGES).where(MESSAGES.c.conversation_id.in_(bindparam("conversations", expanding=True)),
                                            MESSAGES.c.client_ref.in_(bindparam("references", expanding=True)))
# A staff reply that names its conversation: the conversation's parties and the sender's role on its account.
_ADDRESSED = (select(CONVERSATIONS.c.id, CONVERSATIONS.c.account_id, CONVERSATIONS.c.citizen_id,
                     accounts.role_on(CONVERSATIONS.c.account_id, bindparam("actor_id")))
              .where(CONVERSATIONS.c.id.in_(bindparam("ids", expanding=True))))
_STATE, _HAS_UNREAD, _LAST = (_MUTABLE.index(name) for name in ("state", "has_unread", "last_message_id"))
_NO_RULES = automation.compile_rules(())
_COUNTERS = ("messages_in", "messages_out", "auto_replies", "conversations_started", "responses",
             "response_seconds", "first_responses", "first_response_seconds")


@dataclass(frozen=True)
class Draft:
    """A message to store. `sender` "citizen" writes in; "staff" (a person, `sent_by`) and "welcome" write out.
    A staff reply may name its conversation instead of its citizen (`citizen_id` None, `conversation_id`): the
    batch then checks that the conversation is the account's and that `sent_by` answers its inbox."""

    sender: str
    account_id: int
    citizen_id: int | None
    content: Content
    sent_by: int | None = None
    sent_by_name: str | None = None
    client_ref: str | None = None
    conversation_id: int | None = None


@dataclass(frozen=True)
class Stored:
    """A stored message (`row` has the messages table's columns); `duplicate` when a retry found it."""

    row: dict[str, Any]
    sent_by_name: str | None = None
    duplicate: bool = False

    def view(self, *, staff: bool) -> dict[str, Any]:
        return message_view(self.row, sent_by_name=self.sent_by_name, staff=staff)


def vn_day(moment: datetime) -> date:
    return moment.astimezone(automation.VN).date()



def allocate_live_ids_sync(session: Session, count: int) -> list[int]:
    """`count` new ids from the sequence messages and conversation events share, so that rows can be
    inserted with `executemany` (no RETURNING, which SQLite would run row by row) and a live channel has
    one order. SQLite: the writing transaction holds the database lock, so the next ids are ours;
    PostgreSQL: taken from the messages' sequence."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "sqlite":
        base = int(session.scalar(text(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0), "
            "coalesce((SELECT max(id) FROM messages), 0), coalesce((SELECT max(id) FROM conversation_events), 0))"))
            or 0)
        return list(range(base + 1, base + count + 1))
    rows = session.execute(text("SELECT nextval(pg_get_serial_sequence('messages', 'id')) "
                                "FROM generate_series(1, :count)"), {"count": count})
    return sorted(row[0] for row in rows)


async def allocate_live_ids(session: AsyncSession, count: int) -> list[int]:
    return await session.run_sync(allocate_live_ids_sync, count)


# --- the batch ----------------------------------------------------------------------------------------


@dataclass
class _Planned:
    draft_index: int | None  # None: an automatic answer
    pair: tuple[int, int]
    direction: str
    content: Content
    auto: str | None
    sent_by: int | None
    sent_by_name: str | None
    client_ref: str | None
    summary: dict[str, Any] = field(default_factory=dict)


class _Batch:
    """One batch's database work; see `store_batch`."""

    def __init__(self, session: Session, drafts: Sequence[Draft], now: datetime) -> None:
        self.session = session
        self.drafts = list(drafts)  # a draft that names its conversation is completed with its citizen
        self.now = now
        self.day = vn_day(now)
        self.results: list[Stored | AppError | None] = [None] * len(drafts)
        self.valid: list[Draft] = []  # the drafts whose account exists
        self.conversations: dict[tuple[int, int], dict[str, Any]] = {}
        self.changed: set[tuple[int, int]] = set()
        self.planned: list[_Planned] = []
        self.counts: dict[int, dict[str, int]] = {}

    def _pending(self) -> list[tuple[int, Draft]]:
        return [(index, draft) for index, draft in enumerate(self.drafts) if self.results[index] is None]

    def run(self) -> Batch[Stored]:
        self._address()
        # (A draft that named its conversation has its account: `_address` found it there.)
        existing = accounts.existing_account_ids(
            self.session, {d.account_id for _, d in self._pending() if d.conversation_id is None})
        for index, draft in self._pending():
            if draft.conversation_id is None and draft.account_id not in existing:
                self.results[index] = NotFound(ACCOUNT_NOT_FOUND, code="account_not_found")
        self.valid = [draft for _, draft in self._pending()]
        citizen_pairs = {(d.account_id, d.citizen_id) for d in self.valid if d.sender == "citizen"}
        blocked = follows.blocked_pairs(self.session, citizen_pairs)
        following = self._load_conversations(citizen_pairs - blocked)
        duplicates = self._stored_references()
        rules, settings = self._automation({d.account_id for d in self.valid if d.sender == "citizen"})
        first_of_reference: dict[tuple[int, str], int] = {}
        for index, draft in enumerate(self.drafts):
            if self.results[index] is not None:
                continue
            pair = (draft.account_id, draft.citizen_id)
            conversation = self.conversations.get(pair)
            if draft.sender == "citizen" and pair in blocked:
                self.results[index] = Forbidden(BLOCKED, code="blocked")
                continue
            if conversation is None or (draft.sender == "staff" and conversation["last_inbound_at"] is None
                                        and pair not in following):
                self.results[index] = Forbidden(CANNOT_START, code="cannot_start_conversation")
                continue
            if draft.client_ref is not None:
                reference = (conversation["id"], draft.client_ref)
                if reference in duplicates:
                    self.results[index] = Stored(duplicates[reference], duplicate=True)
                    continue
                if reference in first_of_reference:
                    continue  # answered with the first one's message below
                first_of_reference[reference] = index
            self._plan(index, draft, conversation, rules, settings)
        rows = self._write()
        by_draft = {planned.draft_index: row for planned, row in zip(self.planned, rows, strict=True)}
        for index, draft in enumerate(self.drafts):
            if self.results[index] is not None:
                continue
            if index in by_draft:
                self.results[index] = Stored(by_draft[index], sent_by_name=draft.sent_by_name)
            else:  # the same reference twice in one batch
                conversation = self.conversations[(draft.account_id, draft.citizen_id)]
                first = first_of_reference[(conversation["id"], draft.client_ref or "")]
                self.results[index] = Stored(by_draft[first], sent_by_name=draft.sent_by_name, duplicate=True)
        events = self._events(rows)
        results = [result for result in self.results if result is not None]
        assert len(results) == len(self.drafts)
        return Batch(results, events)

    def _address(self) -> None:
        """Completes the drafts that name their conversation with its citizen, or refuses them (404) unless the
        conversation is their account's and their sender is its inbox staff. Not locked: these columns never
        change, and the conversation is locked with the others, in one order, by `_load_conversations`."""
        by_sender: dict[int | None, set[int]] = {}
        for draft in self.drafts:
            if draft.conversation_id is not None:
                by_sender.setdefault(draft.sent_by, set()).add(draft.conversation_id)
        found: dict[tuple[int | None, int], Any] = {}
        for sender, conversation_ids in by_sender.items():
            for row in self.session.execute(_ADDRESSED, {"actor_id": sender, "ids": sorted(conversation_ids)}):
                found[(sender, row.id)] = row
        for index, draft in enumerate(self.drafts):
            if draft.conversation_id is None:
                continue
            row = found.get((draft.sent_by, draft.conversation_id))
            if row is None or row.account_id != draft.account_id or row.role not in INBOX_ROLES:
                self.results[index] = NotFound(CONVERSATION_NOT_FOUND, code="conversation_not_found")
            else:
                self.drafts[index] = replace(draft, citizen_id=row.citizen_id)

    def _select_conversations(self, pairs: set[tuple[int, int]]) -> None:
        # By citizen (a citizen has few conversations), filtered to the batch's pairs; locked for this
        # transaction on PostgreSQL, in id order (SQLite's writer holds the whole database). Driver-level,
        # as the writes: the ORM's per-column result processing cost more than the query.
        values = Values(dialect_of(self.session))
        citizens = sorted({citizen for _, citizen in pairs})
        for row in SELECT_CONVERSATIONS.fetch(self.session, citizens):
            loaded = dict(zip(_LOADED, row, strict=True))
            pair = (loaded["account_id"], loaded["citizen_id"])
            if pair in pairs:
                for name in _TIMES:
                    loaded[name] = values.read_time(loaded[name])
                loaded["has_unread"] = bool(loaded["has_unread"])
                self.conversations[pair] = loaded

    def _load_conversations(self, creatable_by_citizens: set[tuple[int, int]]) -> set[tuple[int, int]]:
        """Every conversation of the batch; those a citizen or a welcome may start are created first, and so are
        those staff may start (with a follower). Returns the follows asked about: staff writing first."""
        pairs = {(d.account_id, d.citizen_id) for d in self.valid}
        if not pairs:
            return set()
        self._select_conversations(pairs)
        following = follows.following_pairs(self.session, {
            pair for d in self.valid if d.sender == "staff"
            and ((conversation := self.conversations.get(pair := (d.account_id, d.citizen_id))) is None
                 or conversation["last_inbound_at"] is None)})
        new: dict[tuple[int, int], str] = {}
        for draft in self.valid:
            pair = (draft.account_id, draft.citizen_id)
            if pair in self.conversations or pair in new:
                continue
            if draft.sender == "citizen" and pair in creatable_by_citizens:
                new[pair] = "open"
            elif draft.sender == "welcome" or (draft.sender == "staff" and pair in following):
                new[pair] = "waiting"
        if new:
            statement = dialect_insert(self.session)(CONVERSATIONS).on_conflict_do_nothing(
                index_elements=["account_id", "citizen_id"])
            self.session.execute(statement, [
                {"account_id": account_id, "citizen_id": citizen_id, "state": state, "created_at": self.now}
                for (account_id, citizen_id), state in new.items()])
            self._select_conversations(set(new))
        return following

    def _stored_references(self) -> dict[tuple[int, str], dict[str, Any]]:
        wanted = {(conversation["id"], draft.client_ref) for draft in self.valid
                  if draft.client_ref is not None
                  and (conversation := self.conversations.get((draft.account_id, draft.citizen_id))) is not None}
        if not wanted:
            return {}
        rows = self.session.execute(_STORED_REFERENCES, {
            "conversations": sorted({conversation_id for conversation_id, _ in wanted}),
            "references": sorted({reference for _, reference in wanted})})
        found = {(row.conversation_id, row.client_ref): dict(row._mapping) for row in rows}
        return {key: value for key, value in found.items() if key in wanted}

    def _automation(self, account_ids: set[int]) -> tuple[dict[int, automation.CompiledRules],
                                                                dict[int, automation.AutomationSettings]]:
        if not account_ids:
            return {}, {}
        rules: dict[int, list[automation.KeywordRule]] = {}
        for row in self.session.execute(select(KeywordRuleRow.__table__).where(
                KeywordRuleRow.account_id.in_(account_ids), KeywordRuleRow.enabled.is_(True))):
            rules.setdefault(row.account_id, []).append(automation.KeywordRule(
                id=row.id, priority=row.priority, keywords=tuple(row.keywords), match=row.match, reply=row.reply))
        settings = {row.account_id: settings_from_row(row) for row in self.session.execute(
            select(AutomationSettings.__table__).where(AutomationSettings.account_id.in_(account_ids)))}
        return {account_id: automation.compile_rules(found) for account_id, found in rules.items()}, settings

    def _count(self, account_id: int, **increments: int) -> None:
        counts = self.counts.get(account_id)
        if counts is None:
            counts = self.counts[account_id] = dict.fromkeys(_COUNTERS, 0)
        for name, value in increments.items():
            counts[name] += value

    def _plan(self, index: int, draft: Draft, conversation: dict[str, Any],
              rules: dict[int, automation.CompiledRules], settings: dict[int, automation.AutomationSettings]) -> None:
        pair = (draft.account_id, draft.citizen_id)
        now = self.now
        self.changed.add(pair)
        if draft.sender == "citizen":
            if conversation["messages_in"] == 0:
                self._count(draft.account_id, conversations_started=1)
            conversation["messages_in"] += 1
            conversation["staff_unread"] += 1
            conversation["has_unread"] = True
            conversation["state"] = "open"
            conversation["last_inbound_at"] = now
            if conversation["awaiting_since"] is None:
                conversation["awaiting_since"] = now
            self._count(draft.account_id, messages_in=1)
            self._add(_Planned(index, pair, "in", draft.content, None, None, None, draft.client_ref), conversation)
            self._auto_reply(draft, conversation, rules.get(draft.account_id), settings.get(draft.account_id))
            return
        conversation["messages_out"] += 1
        conversation["citizen_unread"] += 1
        self._count(draft.account_id, messages_out=1)
        if draft.sender == "welcome":
            self._count(draft.account_id, auto_replies=1)
            self._add(_Planned(index, pair, "out", draft.content, "welcome", None, None, draft.client_ref),
                      conversation)
            return
        waited_since = conversation["awaiting_since"]
        if waited_since is not None:  # a person answers: the citizen's wait ends here
            seconds = max(0, int((now - waited_since).total_seconds()))
            conversation["responses"] += 1
            conversation["response_seconds_total"] += seconds
            self._count(draft.account_id, responses=1, response_seconds=seconds)
            if conversation["first_response_seconds"] is None:
                conversation["first_response_seconds"] = seconds
                self._count(draft.account_id, first_responses=1, first_response_seconds=seconds)
            conversation["awaiting_since"] = None
        conversation["state"] = "waiting"
        # Answering means the staff have read what came before.
        conversation["staff_unread"] = 0
        conversation["has_unread"] = False
        planned = _Planned(index, pair, "out", draft.content, None, draft.sent_by, draft.sent_by_name,
                           draft.client_ref)
        self._add(planned, conversation, staff_seen=True)

    def _auto_reply(self, draft: Draft, conversation: dict[str, Any], rules: automation.CompiledRules | None,
                    settings: automation.AutomationSettings | None) -> None:
        if rules is None and (settings is None or not settings.out_of_hours_enabled):
            return  # nothing automatic on this account
        reply = automation.choose_auto_reply(
            settings or automation.DEFAULT_SETTINGS, rules or _NO_RULES, draft.content.text,
            self.now, conversation["last_out_of_hours_reply_at"])
        if reply is None:
            return
        if reply.reason == "out_of_hours":
            conversation["last_out_of_hours_reply_at"] = self.now
        conversation["messages_out"] += 1
        conversation["citizen_unread"] += 1
        self._count(draft.account_id, messages_out=1, auto_replies=1)
        content = Content(kind="text", text=reply.text)
        self._add(_Planned(None, (draft.account_id, draft.citizen_id), "out", content, reply.reason, None, None,
                           None), conversation)

    def _add(self, planned: _Planned, conversation: dict[str, Any], *, staff_seen: bool = False) -> None:
        # Message ids are not known yet: -(position + 1) stands for the planned message until `_write`.
        local_id = -(len(self.planned) + 1)
        conversation["last_message_id"] = local_id
        conversation["last_message_at"] = self.now
        conversation["last_message_preview"] = planned.content.preview
        conversation["last_direction"] = planned.direction
        if staff_seen:
            conversation["staff_seen_message_id"] = local_id
        planned.summary = conversation_summary(conversation)
        self.planned.append(planned)

    def _write(self) -> list[dict[str, Any]]:
        ids = allocate_live_ids_sync(self.session, len(self.planned))

        def real(value: int) -> int:
            return ids[-value - 1] if value < 0 else value

        values = Values(dialect_of(self.session))
        rows = []
        for planned, message_id in zip(self.planned, ids, strict=True):
            content = planned.content
            conversation = self.conversations[planned.pair]
            rows.append({
                "id": message_id, "conversation_id": conversation["id"], "account_id": planned.pair[0],
                "direction": planned.direction, "kind": content.kind, "text": content.text,
                "text_folded": content.text_folded, "attachment": content.attachment,
                "latitude": content.latitude, "longitude": content.longitude, "commune_code": content.commune_code,
                "url": content.url, "sent_by": planned.sent_by, "auto": planned.auto,
                "client_ref": planned.client_ref, "created_at": self.now,
            })
            planned.summary["last_message_id"] = real(planned.summary["last_message_id"])
        created_at = values.time(self.now)
        INSERT_MESSAGE.executemany(self.session, [
            (row["id"], row["conversation_id"], row["account_id"], row["direction"], row["kind"], row["text"],
             row["text_folded"], values.json(row["attachment"]), row["latitude"], row["longitude"],
             row["commune_code"], row["url"], row["sent_by"], row["auto"], row["client_ref"], created_at)
            for row in rows])
        updates = []
        for pair in sorted(self.changed, key=lambda key: self.conversations[key]["id"]):
            conversation = self.conversations[pair]
            conversation["last_message_id"] = real(conversation["last_message_id"])
            conversation["staff_seen_message_id"] = real(conversation["staff_seen_message_id"])
            updates.append((*(values.time(conversation[name]) if name in _TIMES else conversation[name]
                              for name in _MUTABLE), conversation["id"]))
        UPDATE_CONVERSATION.executemany(self.session, updates)
        UPDATE_LABEL_KEYS.executemany(self.session, [
            (row[_STATE], row[_HAS_UNREAD], row[_LAST], row[-1]) for row in updates])
        self._write_counts()
        return rows

    def _write_counts(self) -> None:
        if not self.counts:
            return
        self.session.execute(_count_upsert(dialect_of(self.session)), [
            {"account_id": account_id, "day": self.day, **counts}
            for account_id, counts in sorted(self.counts.items())])

    def _events(self, rows: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        """One `message` event per stored message, to publish after commit (its SSE id is the message's:
        replay reads the messages themselves)."""
        published: list[tuple[str, dict[str, Any]]] = []
        for planned, row in zip(self.planned, rows, strict=True):
            account_id, citizen_id = planned.pair
            event = live_payload(row["id"], "message", message_event(
                row, planned.summary, sent_by_name=planned.sent_by_name))
            published.append((inbox_channel(account_id), event))
            published.append((chat_channel(citizen_id), citizen_event(event)))
        return published


@cache
def _count_upsert(dialect: str) -> Any:
    """Adds a batch's counts to the account's day (built once per dialect: building cost more than running)."""
    statement = insert_of(dialect)(DAILY)
    return statement.on_conflict_do_update(
        index_elements=["account_id", "day"],
        set_={name: DAILY.c[name] + statement.excluded[name] for name in _COUNTERS})


def settings_from_row(row: Any) -> automation.AutomationSettings:
    return automation.AutomationSettings(
        welcome_enabled=row.welcome_enabled, welcome_text=row.welcome_text,
        out_of_hours_enabled=row.out_of_hours_enabled, out_of_hours_text=row.out_of_hours_text,
        office_hours=automation.office_hours_from_json(row.office_hours) if row.office_hours
        else automation.DEFAULT_OFFICE_HOURS)


def store_batch_sync(session: Session, drafts: Sequence[Draft], now: datetime | None = None) -> Batch[Stored]:
    """Store `drafts` in the session's transaction (not committed here). `results` has one entry per
    draft, in order: the stored message, or the error that refused it; `events` are to be published
    after the commit, in order. Plain synchronous code: the writer runs it on SQLite in its own thread with
    one connection (no hop between threads per statement), on PostgreSQL through `run_sync`."""
    return _Batch(session, drafts, now or utcnow()).run()


async def store_batch(session: AsyncSession, drafts: Sequence[Draft], now: datetime | None = None) -> Batch[Stored]:
    """`store_batch_sync` in an async session's transaction (the welcome message of a follow)."""
    return await session.run_sync(store_batch_sync, drafts, now)


# --- the writer ---------------------------------------------------------------------------------------


class MessageWriter(GroupCommitWriter[Draft, Stored]):
    """This process's group-commit writer of messages (one per runtime)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime, store_batch_sync, name="message")
