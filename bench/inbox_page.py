"""One page of an account's staff inbox: `conversations.service.inbox(...)` (30 conversations of one state,
unread first, newest first), as the inbox endpoint runs it, on the busiest account of the database.

Data, bulk-loaded: 100 accounts, 50,000 citizens and 1,000,000 messages in 100,000 conversations
(`--quick`: 20,000 in 2,000), 1–60 messages each (10 on average) of Vietnamese text written over the last
year. Account 1 (a ministry or a city's police, say) holds 25% of the conversations, the 99 others a
1/√rank tail. States: 15% open (half of them unread), 25% waiting, 60% closed; 20% of account 1's
conversations are assigned to one of its 3 agents; 10% of all conversations carry a label. Each
conversation's counters, last message and unread state are what the message writer would have left.
ANALYZE runs after the load, as an operator would.

Cases, all on account 1 as one of its agents, 30 a page: the first page of `open`; the 10th page of
`closed` (following next_cursor); `view=mine` on `open`; a label on `closed`. Each page runs in a fresh
read session (as one request does) with the agent's user row loaded from the database beforehand.
Baseline: the same page as one raw SQL query (the same WHERE, ORDER BY and LIMIT on conversations,
returning the ids; sqlite3 on the same file / asyncpg on the same database). Target: p99 ≤ 10 ms.
"""

from __future__ import annotations

import bisect
import math
import random
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import (
    BENCH_COMMUNE,
    Options,
    bench_settings,
    database_name,
    driver_dsn,
    load_people,
    note,
    percentile,
    prepare,
    result,
    scratch_database,
)

NAME = "inbox_page"
DESCRIPTION = "p99 of one staff inbox page (conversations.service.inbox) with 1M messages vs the raw SQL page query"

ACCOUNTS = 100
CITIZENS = 50_000
HOT_ACCOUNT = 1
HOT_SHARE = 0.25
STAFF_NAMES = ("Nguyễn Thị Lan", "Trần Văn Minh", "Lê Hoàng Phúc")
STAFF_IDS = tuple(CITIZENS + n for n in range(1, len(STAFF_NAMES) + 1))
STATES = ("open", "waiting", "closed")
STATE_WEIGHTS = (0.15, 0.25, 0.60)
UNREAD_SHARE_OF_OPEN = 0.5
ASSIGNED_SHARE = 0.2  # of the hot account's conversations
LABELLED_SHARE = 0.1
SECOND_LABEL_SHARE = 0.2  # of the labelled conversations
MAX_MESSAGES = 60
YEAR = 365 * 86_400
PAGE = 30
DEEP_PAGE = 10
MEASURED_LABEL = "hộ tịch"
TARGET_P99_MS = 10.0

# Label → what citizens write about first. Unlabelled conversations draw a topic the same way.
TOPICS: dict[str, tuple[str, ...]] = {
    "hộ tịch": (
        "Cho tôi hỏi thủ tục đăng ký khai sinh cho con cần những giấy tờ gì ạ?",
        "Tôi cần trích lục bản sao giấy khai sinh, có làm trực tuyến được không?",
        "Xin hỏi cấp giấy xác nhận tình trạng hôn nhân mất mấy ngày làm việc?",
        "Gia đình tôi muốn đăng ký khai tử cho ông nội, cần mang theo những gì?",
    ),
    "đất đai": (
        "Gia đình tôi muốn làm sổ đỏ cho thửa đất ông bà để lại thì cần chuẩn bị hồ sơ gì?",
        "Hồ sơ chuyển nhượng quyền sử dụng đất tôi nộp từ tháng trước đến nay vẫn chưa có kết quả.",
        "Nhà bên cạnh xây lấn sang phần đất nhà tôi khoảng nửa mét, tôi phải làm đơn gửi đâu?",
        "Cho hỏi bảng giá đất năm nay của phường đã được công bố chưa ạ?",
    ),
    "giao thông": (
        "Đèn tín hiệu ở ngã tư gần chợ bị hỏng mấy hôm nay, đề nghị cơ quan kiểm tra.",
        "Cho hỏi cấp đổi giấy phép lái xe quá hạn có làm trên Cổng Dịch vụ công được không?",
        "Đoạn đường trước trường tiểu học có nhiều ổ gà, trời mưa rất nguy hiểm cho các cháu.",
        "Tôi nhận thông báo phạt nguội nhưng hôm đó xe không đi qua tuyến đường này.",
    ),
    "y tế": (
        "Lịch tiêm chủng mở rộng cho trẻ tháng này tổ chức vào ngày nào ạ?",
        "Trạm y tế phường có khám bảo hiểm y tế vào sáng thứ Bảy không?",
        "Khu tôi ở có nhiều ca sốt xuất huyết, đề nghị phun thuốc diệt muỗi.",
        "Thẻ bảo hiểm y tế của mẹ tôi hết hạn, gia hạn ở đâu ạ?",
    ),
    "môi trường": (
        "Rác thải ở tổ dân phố số 5 không được thu gom ba ngày nay, mùi rất khó chịu.",
        "Xưởng gỗ cuối ngõ hoạt động cả đêm, tiếng ồn và bụi ảnh hưởng đến cả khu.",
        "Cống thoát nước đầu ngõ bị tắc, mỗi lần mưa là nước ngập đến đầu gối.",
    ),
    "an ninh trật tự": (
        "Khu vực đầu ngõ thường có nhóm thanh niên tụ tập gây ồn ào sau 23 giờ.",
        "Tôi bị mất xe máy trước cửa nhà đêm qua, cần trình báo ở đâu ạ?",
        "Cho hỏi đăng ký tạm trú cho người thuê trọ cần những giấy tờ gì?",
    ),
    "khiếu nại": (
        "Tôi nộp hồ sơ đã quá hẹn mười ngày mà chưa được trả kết quả, đề nghị xem xét.",
        "Cán bộ bộ phận một cửa yêu cầu bổ sung giấy tờ không có trong quy định.",
        "Tôi muốn gửi đơn kiến nghị về việc thu phí trông giữ xe tại chợ.",
    ),
}
LABELS = tuple(TOPICS)
LABEL_WEIGHTS = (0.30, 0.20, 0.15, 0.12, 0.10, 0.08, 0.05)
GREETINGS = ("", "Chào anh chị. ", "Kính gửi quý cơ quan. ")
SIGN_OFFS = ("", " Xin cảm ơn!", " Mong sớm nhận được phản hồi.")
FOLLOW_UPS = (
    "Dạ vâng, tôi cảm ơn ạ.",
    "Tôi đã gửi ảnh chụp hồ sơ ở tin nhắn trước rồi ạ.",
    "Khi nào thì có kết quả ạ?",
    "Tôi có cần mang theo căn cước công dân bản gốc không?",
    "Sáng mai tôi lên bộ phận một cửa được không ạ?",
    "Tình trạng vẫn chưa được khắc phục, mong cơ quan kiểm tra lại.",
    "Mã hồ sơ của tôi là H01.22-{n:04d}.",
    "Nếu nộp trực tuyến thì lệ phí thanh toán thế nào?",
    "Tôi ở tổ dân phố số {n}, ngay cạnh nhà văn hoá.",
    "Vâng, tôi sẽ bổ sung trong tuần này.",
    "Cho tôi xin số điện thoại của cán bộ phụ trách.",
    "Cảm ơn cán bộ nhiều!",
)
ANSWERS = (
    "Chào anh/chị, cơ quan đã tiếp nhận phản ánh và chuyển bộ phận chuyên môn xử lý trong 03 ngày làm việc.",
    "Anh/chị vui lòng mang căn cước công dân và tờ khai đến bộ phận một cửa trong giờ hành chính.",
    "Hồ sơ của anh/chị đang được thẩm định, kết quả sẽ được thông báo qua tin nhắn này.",
    "Anh/chị có thể nộp hồ sơ trực tuyến trên Cổng Dịch vụ công quốc gia, không cần đến trực tiếp.",
    "Cảm ơn anh/chị đã phản ánh. Tổ công tác sẽ xuống kiểm tra thực tế trong tuần.",
    "Thủ tục này không mất lệ phí, thời hạn giải quyết là 05 ngày làm việc.",
    "Đề nghị anh/chị cung cấp thêm địa chỉ cụ thể và hình ảnh hiện trường.",
    "Vụ việc đã được chuyển Công an phường xử lý theo thẩm quyền.",
    "Kết quả đã có, anh/chị mang giấy hẹn đến nhận tại quầy số {n}.",
    "Dạ, cơ quan ghi nhận và sẽ phản hồi anh/chị sớm nhất.",
)


@dataclass(frozen=True)
class _Size:
    messages: int
    conversations: int
    samples: int
    warm_up: int


def _size(options: Options) -> _Size:
    return _Size(20_000, 2_000, 50, 10) if options.quick else _Size(1_000_000, 100_000, 1_000, 100)


@dataclass(frozen=True)
class _Case:
    name: str
    state: str
    view: str = "all"
    label: str | None = None
    page: int = 1


CASES = (
    _Case("open_first_page", "open"),
    _Case("closed_deep_page", "closed", page=DEEP_PAGE),
    _Case("open_mine", "open", view="mine"),
    _Case("closed_label", "closed", label=MEASURED_LABEL),
)


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    size = _size(options)
    for target in options.targets:
        database = database_name(target)
        async with scratch_database(target) as url:
            with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                settings = bench_settings(url, Path(data_dir))
                await prepare(settings)
                note(f"{NAME}: {database}: loading {size.messages:,} messages in {size.conversations:,} "
                     f"conversations…")
                loading = await _load(settings, size)
                note(f"{NAME}: {database}: loaded in {loading.load_seconds:.1f} s, ANALYZE "
                     f"{loading.analyze_seconds:.1f} s; {size.samples:,} pages per case…")
                async for line in _measure(settings, url, database, size, loading):
                    yield line


# ---- data ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    text: str
    folded: str
    preview: str


def _texts(texts: Iterator[str]) -> tuple[_Text, ...]:
    from loa.domains.conversations.content import text_content

    return tuple(_Text(content.text, content.text_folded, content.preview)
                 for content in (text_content(value) for value in texts))


def _variants(template: str) -> Iterator[str]:
    if "{n" not in template:
        yield template
        return
    for n in range(1, 20):
        yield template.format(n=n * 37 % 100 + 1)


@dataclass(frozen=True)
class _Pools:
    questions: tuple[tuple[_Text, ...], ...]  # by topic
    follow_ups: tuple[_Text, ...]
    answers: tuple[_Text, ...]

    def text(self, topic: int, index: int, message_id: int, out: int) -> _Text:
        """The text of a conversation's `index`-th message: a function of its id, so that the conversation's
        preview and the message row agree without holding the messages."""
        pool = self.answers if out else self.questions[topic] if index == 0 else self.follow_ups
        return pool[message_id * 2_654_435_761 % len(pool)]


@cache
def _pools() -> _Pools:
    return _Pools(
        questions=tuple(_texts(greeting + question + sign_off
                               for question in questions for greeting in GREETINGS for sign_off in SIGN_OFFS)
                        for questions in TOPICS.values()),
        follow_ups=_texts(variant for template in FOLLOW_UPS for variant in _variants(template)),
        answers=_texts(variant for template in ANSWERS for variant in _variants(template)),
    )


@dataclass
class _Plan:
    """Conversations by id - 1 (ids in order of their first message) and their messages' sort keys:
    seconds into the year << shift | conversation index, so that sorting the keys gives message ids in
    time order."""

    account: list[int]
    citizen: list[int]
    state: list[str]
    count: list[int]
    outs: list[int]  # bit j set: the conversation's j-th message is the account's
    unread: list[bool]
    assigned: list[int | None]
    topic: list[int]
    labels: list[tuple[int, str, int]] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)
    shift: int = 0


def _cumulative(values: list[float]) -> list[float]:
    total, out = 0.0, []
    for value in values:
        total += value
        out.append(total)
    return out


def _fit(counts: list[int], minimums: list[int], total: int, rng: random.Random) -> None:
    """Nudge message counts until they add up to `total` exactly."""
    missing = total - sum(counts)
    while missing:
        i = rng.randrange(len(counts))
        if missing > 0 and counts[i] < MAX_MESSAGES:
            counts[i] += 1
            missing -= 1
        elif missing < 0 and counts[i] > minimums[i]:
            counts[i] -= 1
            missing += 1


def _gaps(count: int, rng: random.Random) -> list[int]:
    """Seconds between a conversation's messages: minutes to hours, now and then days."""
    gaps = [1 + (int(rng.uniform(1, 10) * 86_400) if rng.random() < 0.05 else int(rng.expovariate(1 / 2_400)))
            for _ in range(count - 1)]
    span = sum(gaps)
    if span > YEAR // 2:
        gaps = [1 + gap * (YEAR // 2) // span for gap in gaps]
    return gaps


def _directions(count: int, state: str, rng: random.Random) -> int:
    """Who wrote each message (bit set: the account): the citizen opens, answers and follow-ups alternate
    loosely; an open conversation ends with the citizen, a waiting one with the account."""
    outs, out = 0, False
    for j in range(1, count):
        out = rng.random() < (0.3 if out else 0.7)
        if out:
            outs |= 1 << j
    last = count - 1
    if last > 0:
        ends_out = state == "waiting" or (state == "closed" and rng.random() < 0.7)
        outs = outs | (1 << last) if ends_out else outs & ~(1 << last)
    return outs


def _plan(size: _Size, rng: random.Random) -> _Plan:
    n = size.conversations
    hot = round(n * HOT_SHARE)
    tail = _cumulative([1 / math.sqrt(rank) for rank in range(1, ACCOUNTS)])
    accounts = [HOT_ACCOUNT] * hot + [2 + bisect.bisect_left(tail, rng.random() * tail[-1]) for _ in range(n - hot)]
    states = rng.choices(STATES, STATE_WEIGHTS, k=n)
    minimums = [2 if state == "waiting" else 1 for state in states]
    counts = [max(low, 1 + min(MAX_MESSAGES - 1, int(rng.expovariate(1 / 9)))) for low in minimums]
    _fit(counts, minimums, size.messages, rng)
    by_account: dict[int, list[int]] = {}
    for i, account in enumerate(accounts):
        by_account.setdefault(account, []).append(i)
    citizens = [0] * n
    for indexes in by_account.values():
        for i, citizen in zip(indexes, rng.sample(range(1, CITIZENS + 1), len(indexes)), strict=True):
            citizens[i] = citizen
    gaps = [_gaps(count, rng) for count in counts]
    starts = [rng.randrange(YEAR - sum(conversation)) for conversation in gaps]
    order = sorted(range(n), key=starts.__getitem__)
    plan = _Plan(account=[accounts[i] for i in order], citizen=[citizens[i] for i in order],
                 state=[states[i] for i in order], count=[counts[i] for i in order], outs=[], unread=[],
                 assigned=[], topic=[], shift=n.bit_length())
    for index, old in enumerate(order):
        t = starts[old]
        plan.keys.append(t << plan.shift | index)
        for gap in gaps[old]:
            t += gap
            plan.keys.append(t << plan.shift | index)
    del gaps, starts
    plan.keys.sort()
    for index in range(n):
        state, account = plan.state[index], plan.account[index]
        plan.outs.append(_directions(plan.count[index], state, rng))
        plan.unread.append(state == "open" and rng.random() < UNREAD_SHARE_OF_OPEN)
        plan.assigned.append(rng.choice(STAFF_IDS)
                             if account == HOT_ACCOUNT and rng.random() < ASSIGNED_SHARE else None)
        labels: set[int] = set()
        if rng.random() < LABELLED_SHARE:
            labels.add(rng.choices(range(len(LABELS)), LABEL_WEIGHTS)[0])
            if rng.random() < SECOND_LABEL_SHARE:
                labels.add(rng.choices(range(len(LABELS)), LABEL_WEIGHTS)[0])
        plan.topic.append(min(labels) if labels else rng.choices(range(len(LABELS)), LABEL_WEIGHTS)[0])
        plan.labels.extend((index + 1, LABELS[label], account) for label in sorted(labels))
    return plan


_CONVERSATION_COLUMNS = [
    "id", "account_id", "citizen_id", "state", "assigned_to", "last_message_id", "last_message_at",
    "last_message_preview", "last_direction", "last_inbound_at", "has_unread", "staff_unread", "citizen_unread",
    "staff_seen_message_id", "citizen_seen_message_id", "messages_in", "messages_out", "awaiting_since",
    "first_response_seconds", "responses", "response_seconds_total", "created_at",
]
_STATE, _HAS_UNREAD, _LAST = (_CONVERSATION_COLUMNS.index(name) for name in ("state", "has_unread", "last_message_id"))
_MESSAGE_COLUMNS = ["id", "conversation_id", "account_id", "direction", "kind", "text", "text_folded", "sent_by",
                    "created_at"]


def _conversation_rows(plan: _Plan, epoch: datetime) -> list[tuple[Any, ...]]:
    """What the message writer would have left on each conversation after its messages, in id order."""
    n = len(plan.account)
    mask = (1 << plan.shift) - 1
    outs = plan.outs
    seen = [0] * n
    first_t = [0] * n
    last_id = [0] * n
    last_t = [0] * n
    last_in_id = [0] * n
    last_in_t = [-1] * n
    last_out_id = [0] * n
    awaiting = [-1] * n
    responses = [0] * n
    waited = [0] * n
    first_response = [-1] * n
    trailing = [0] * n  # messages at the end from the same side
    for message_id, key in enumerate(plan.keys, 1):
        i = key & mask
        t = key >> plan.shift
        j = seen[i]
        seen[i] = j + 1
        out = outs[i] >> j & 1
        if j == 0:
            first_t[i] = t
            trailing[i] = 1
        else:
            trailing[i] = trailing[i] + 1 if (outs[i] >> (j - 1) & 1) == out else 1
        if out:
            if awaiting[i] >= 0:  # a person answers: the citizen's wait ends
                responses[i] += 1
                waited[i] += t - awaiting[i]
                if first_response[i] < 0:
                    first_response[i] = t - awaiting[i]
                awaiting[i] = -1
            last_out_id[i] = message_id
        else:
            if awaiting[i] < 0:
                awaiting[i] = t
            last_in_id[i] = message_id
            last_in_t[i] = t
        last_id[i] = message_id
        last_t[i] = t

    def at(seconds: int) -> datetime | None:
        return None if seconds < 0 else epoch + timedelta(seconds=seconds)

    pools = _pools()
    rows = []
    for i in range(n):
        count = plan.count[i]
        last_out = outs[i] >> (count - 1) & 1
        outgoing = outs[i].bit_count()
        preview = pools.text(plan.topic[i], count - 1, last_id[i], last_out).preview
        unread = plan.unread[i]
        staff_unread = trailing[i] if unread else 0
        # A waiting conversation's citizen has not always opened the answers yet.
        citizen_behind = plan.state[i] == "waiting" and i % 2 == 0
        rows.append((
            i + 1, plan.account[i], plan.citizen[i], plan.state[i], plan.assigned[i], last_id[i], at(last_t[i]),
            preview, "out" if last_out else "in", at(last_in_t[i]), unread, staff_unread,
            trailing[i] if citizen_behind else 0,
            last_out_id[i] if unread else last_id[i], last_in_id[i] if citizen_behind else last_id[i],
            count - outgoing, outgoing, at(awaiting[i]), first_response[i] if first_response[i] >= 0 else None,
            responses[i], waited[i], at(first_t[i]),
        ))
    return rows


def _message_rows(plan: _Plan, epoch: datetime) -> Iterator[tuple[Any, ...]]:
    n = len(plan.account)
    mask = (1 << plan.shift) - 1
    seen = [0] * n
    pools = _pools()
    for message_id, key in enumerate(plan.keys, 1):
        i = key & mask
        j = seen[i]
        seen[i] = j + 1
        out = plan.outs[i] >> j & 1
        account = plan.account[i]
        chosen = pools.text(plan.topic[i], j, message_id, out)
        sent_by = (plan.assigned[i] or STAFF_IDS[message_id % len(STAFF_IDS)]) \
            if out and account == HOT_ACCOUNT else None
        yield (message_id, i + 1, account, "out" if out else "in", "text", chosen.text, chosen.folded, sent_by,
               epoch + timedelta(seconds=key >> plan.shift))


@dataclass(frozen=True)
class _Loaded:
    load_seconds: float
    analyze_seconds: float
    conversations: int
    messages: int
    labels: int


async def _load(settings: Any, size: _Size) -> _Loaded:
    from loa.db.bulk import bulk_insert, reset_sequence
    from loa.domains.accounts.models import Account, AccountMember
    from loa.domains.conversations.models import Conversation, ConversationLabel, Message
    from loa.domains.conversations.service import normalise_label
    from loa.domains.people.models import User
    from loa.domains.seed.synthetic import _secondary_indexes_deferred
    from loa.runtime import Runtime

    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    epoch = now - timedelta(seconds=YEAR)
    await load_people(settings, users=CITIZENS, accounts=ACCOUNTS)
    plan = _plan(size, random.Random(2025))
    runtime = Runtime(settings)
    try:
        async with runtime.session() as session:
            await bulk_insert(session, User.__table__, (
                (staff_id, None, f"canbo{n}@bench.loa.vn", name, BENCH_COMMUNE, False, "vi", epoch)
                for n, (staff_id, name) in enumerate(zip(STAFF_IDS, STAFF_NAMES, strict=True), 1)),
                columns=["id", "phone", "email", "display_name", "home_commune_code", "is_operator", "locale",
                         "created_at"])
            await bulk_insert(session, AccountMember.__table__, (
                (HOT_ACCOUNT, staff_id, "agent", epoch) for staff_id in STAFF_IDS),
                columns=["account_id", "user_id", "role", "created_at"])
            conversation_rows = _conversation_rows(plan, epoch)
            async with _secondary_indexes_deferred(session, Conversation.__table__):
                await bulk_insert(session, Conversation.__table__, conversation_rows, columns=_CONVERSATION_COLUMNS)
            # Labels carry their conversation's inbox sort key, as the service keeps them.
            key_of = {row[0]: (row[_STATE], row[_HAS_UNREAD], row[_LAST]) for row in conversation_rows}
            labels = [(conversation_id, normalise_label(label), account, *key_of[conversation_id])
                      for conversation_id, label, account in plan.labels]
            await bulk_insert(session, ConversationLabel.__table__, labels,
                              columns=["conversation_id", "label", "account_id", "state", "has_unread",
                                       "last_message_id"])
            async with _secondary_indexes_deferred(session, Message.__table__):
                await bulk_insert(session, Message.__table__, _message_rows(plan, epoch), columns=_MESSAGE_COLUMNS,
                                  chunk=100_000)
            for table in (Account.__table__, User.__table__, Conversation.__table__, Message.__table__):
                await reset_sequence(session, table)
            await session.commit()
        loaded = time.perf_counter()
        async with runtime.session() as session:
            await session.execute(text("ANALYZE"))
            await session.commit()
    finally:
        await runtime.close()
    return _Loaded(load_seconds=loaded - started, analyze_seconds=time.perf_counter() - loaded,
                   conversations=len(plan.account), messages=len(plan.keys), labels=len(labels))


# ---- measuring -------------------------------------------------------------------------------------


async def _measure(settings: Any, url: str, database: str, size: _Size,
                   loading: _Loaded) -> AsyncIterator[dict[str, Any]]:
    from loa.domains.conversations import service
    from loa.domains.people.models import User
    from loa.kit.pagination import decode_cursor
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    raw = await _Raw.open(url)
    try:
        async with runtime.read_session() as session:
            actor = await session.get(User, STAFF_IDS[0])
            assert actor is not None
            session.expunge(actor)

        async def page(case: _Case, cursor: str | None) -> tuple[int, str | None]:
            async with runtime.read_session() as session:
                rows, next_cursor = await service.inbox(
                    session, actor=actor, account_id=HOT_ACCOUNT, state=case.state, view=case.view,
                    label=case.label, cursor=cursor, limit=PAGE)
            return len(rows), next_cursor

        for case in CASES:
            cursor = None
            for _ in range(case.page - 1):
                _, cursor = await page(case, cursor)
                assert cursor is not None, f"{case.name}: fewer than {case.page} pages"
            latencies: list[float] = []
            shown = 0
            for n in range(size.warm_up + size.samples):
                async with runtime.read_session() as session:
                    started = time.perf_counter()
                    rows, _ = await service.inbox(
                        session, actor=actor, account_id=HOT_ACCOUNT, state=case.state, view=case.view,
                        label=case.label, cursor=cursor, limit=PAGE)
                    elapsed = time.perf_counter() - started
                if n >= size.warm_up:
                    latencies.append(elapsed)
                    shown = len(rows)
            sql, args = _raw_query(database, case, decode_cursor(cursor), actor.id)
            baseline = await raw.timings(sql, args, size.warm_up, size.samples)
            p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
            raw_p99 = percentile(baseline, 99) * 1000
            note(f"{NAME}: {database}: {case.name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({shown} rows); raw p99 "
                 f"{raw_p99:.3f} ms")
            yield result(
                NAME, {"database": database, "messages": loading.messages, "conversations": loading.conversations,
                       "query": case.name, "state": case.state, "view": case.view, "label": case.label,
                       "page": case.page, "limit": PAGE, "account_share": HOT_SHARE},
                value=p99, unit=f"ms p99 per inbox page ({PAGE} rows, service.inbox in a fresh read session)",
                baseline=raw_p99,
                baseline_what=(f"ms p99 of the same page as one raw SQL query on conversations (same WHERE, "
                               f"ORDER BY and LIMIT, ids only; {raw.driver}, same database)"),
                better="lower",
                p50_ms=round(p50, 3), p99_ms=round(p99, 3),
                baseline_p50_ms=round(percentile(baseline, 50) * 1000, 3),
                target_p99_ms=TARGET_P99_MS, meets_target=p99 <= TARGET_P99_MS, samples=len(latencies),
                rows=shown, load_seconds=round(loading.load_seconds, 1),
                analyze_seconds=round(loading.analyze_seconds, 1),
            )
    finally:
        await raw.close()
        await runtime.close()


def _raw_query(database: str, case: _Case, position: dict[str, Any] | None,
               actor_id: int) -> tuple[str, list[Any]]:
    """The service's page query for `case` written out, selecting the ids only."""
    sqlite = database == "sqlite"
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return "?" if sqlite else f"${len(args)}"

    true, false = ("1", "0") if sqlite else ("true", "false")
    if case.label:  # as the service: driven by the label's rows, which carry the sort key
        where = [f"l.account_id = {arg(HOT_ACCOUNT)}", f"l.label = {arg(case.label)}", f"l.state = {arg(case.state)}"]
        if position is not None:
            unread, last = position["unread"], position["last"]
            in_group = f"l.has_unread = {true if unread else false} AND l.last_message_id < {arg(last)}"
            where.append(f"(l.has_unread IS {false} OR {in_group})" if unread else in_group)
        sql = (f"SELECT l.conversation_id FROM conversation_labels l WHERE {' AND '.join(where)} "
               f"ORDER BY l.has_unread DESC, l.last_message_id DESC LIMIT {arg(PAGE + 1)}")
        return sql, args
    where = [f"account_id = {arg(HOT_ACCOUNT)}", f"state = {arg(case.state)}"]
    if position is not None:
        unread, last = position["unread"], position["last"]
        in_group = f"has_unread = {true if unread else false} AND last_message_id < {arg(last)}"
        where.append(f"(has_unread IS {false} OR {in_group})" if unread else in_group)
    if case.view == "mine":
        where.append(f"assigned_to = {arg(actor_id)}")
    elif case.view == "unassigned":
        where.append("assigned_to IS NULL")
    sql = (f"SELECT id FROM conversations WHERE {' AND '.join(where)} "
           f"ORDER BY has_unread DESC, last_message_id DESC LIMIT {arg(PAGE + 1)}")
    return sql, args


class _Raw:
    """The database's own driver on the same database: sqlite3 on the file, or one asyncpg connection."""

    def __init__(self, sqlite: sqlite3.Connection | None, postgresql: Any) -> None:
        self.sqlite = sqlite
        self.postgresql = postgresql
        self.driver = "sqlite3" if sqlite is not None else "asyncpg"

    @classmethod
    async def open(cls, url: str) -> _Raw:
        if url.startswith("sqlite"):
            return cls(sqlite3.connect(driver_dsn(url), isolation_level=None, timeout=30), None)
        import asyncpg

        return cls(None, await asyncpg.connect(driver_dsn(url)))

    async def timings(self, sql: str, args: list[Any], warm_up: int, samples: int) -> list[float]:
        latencies = []
        for n in range(warm_up + samples):
            started = time.perf_counter()
            if self.sqlite is not None:
                self.sqlite.execute(sql, args).fetchall()
            else:
                await self.postgresql.fetch(sql, *args)
            if n >= warm_up:
                latencies.append(time.perf_counter() - started)
        return latencies

    async def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.postgresql is not None:
            await self.postgresql.close()
