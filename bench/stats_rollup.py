"""Rolling up one day of events (1,000,000: 700,000 messages and 300,000 follows over 17,273 accounts) into the
statistics rollups (`stats.rollup.roll`: the day's kept counts summed into the nation, provinces, organisations
and accounts: the day's rows, and its months and years once it settles), against the same roll-up re-reading
the day's raw rows (`roll(raw=True)`: the per-account counts of messages in, out and automatic, and of follows,
grouped from the `messages` and `follows` tables, then the same rollup rows written),
which is what a rollup without kept counts has to do.

The day's kept counts (`message_daily_counts`, `follow_daily_counts`) are loaded as the message writer and the
follows service leave them; the raw rows beside them. Before each roll-up the rollups are emptied again, so every
run rolls the whole day up from nothing (a sweep later in the day does the same work). The day is still open, so
the roll-up writes its day rows; `settle_ms` is the sweep after the day has settled, which rolls it once more
and adds it to its month and year rows (once a day). Each run, ours and the
baseline's, is repeated and the median reported; the issue's target is a ratio of at most 0.5. The line also gives
`raw_read_ms`: the raw grouping queries alone, reading without writing any rollup.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import Options, bench_settings, database_name, note, percentile, prepare, result, scratch_database

NAME = "stats_rollup"
DESCRIPTION = "ms to roll up one day of 1M events into the statistics rollups vs re-reading the raw rows"

RUNS = 5
TARGET_RATIO = 0.5
PROVINCES = ("01", "04", "08", "11", "12", "14", "15", "19", "20", "22", "24", "25", "31", "33", "37", "38", "40",
             "42", "44", "46", "48", "51", "52", "56", "66", "68", "75", "79", "80", "82", "86", "91", "92", "96")


def _sizes(options: Options) -> tuple[int, int, int, int]:
    """(messages, follows, accounts, citizens)."""
    return (14_000, 6_000, 2_000, 5_000) if options.quick else (700_000, 300_000, 17_273, 100_000)


async def run(options: Options) -> AsyncIterator[dict[str, Any]]:
    messages, follows, accounts, citizens = _sizes(options)
    for target in options.targets:
        database = database_name(target)
        async with scratch_database(target) as url:
            with tempfile.TemporaryDirectory(prefix="loa-bench-data-") as data_dir:
                settings = bench_settings(url, Path(data_dir))
                await prepare(settings)
                note(f"{NAME}: {database}: loading a day of {messages + follows:,} events over {accounts:,} "
                     "accounts…")
                now = datetime.now(UTC).replace(microsecond=0)
                await _load(settings, messages, follows, accounts, citizens, now)
                yield await _measure(settings, database, messages, follows, accounts, now)


async def _load(settings: Any, messages: int, follows: int, accounts: int, citizens: int, now: datetime) -> None:
    from loa.db.bulk import bulk_insert, reset_sequence
    from loa.domains.accounts.models import Account
    from loa.domains.agencies.models import Organisation
    from loa.domains.conversations.models import Conversation, Message, MessageDailyCount
    from loa.domains.follows.models import Follow, FollowDailyCount
    from loa.domains.people.models import User
    from loa.domains.stats import service as stats
    from loa.domains.stats.periods import vn_day
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    day = vn_day(now)
    start = now - timedelta(hours=1)
    try:
        await stats.rebuild(runtime)  # built (empty) before the day: the sweep then rolls up this day only
        async with runtime.session() as session:
            organisations = [(i, f"Tổ chức {i}", f"to chuc {i}", None, PROVINCES[i % len(PROVINCES)], start)
                             for i in range(1, 101)]
            await bulk_insert(session, Organisation.__table__, organisations,
                              columns=["id", "name", "search_text", "parent_id", "province_code", "created_at"])
            await bulk_insert(session, Account.__table__, (
                {"id": i, "handle": f"bench-{i}", "name": f"Bench {i}", "search_text": f"bench {i}",
                 "kind": "commune_committee", "description": "", "contacts": {}, "office_hours": [],
                 "province_code": PROVINCES[i % len(PROVINCES)], "commune_code": None,
                 "organisation_id": i % 100 + 1, "verification_status": "verified", "verified_at": start,
                 "follower_count": 0, "created_at": start, "updated_at": start}
                for i in range(1, accounts + 1)))
            await bulk_insert(session, User.__table__, (
                (i, f"+8491{i:07d}", f"Bench {i}", None, False, "vi", start) for i in range(1, citizens + 1)),
                columns=["id", "phone", "display_name", "home_commune_code", "is_operator", "locale", "created_at"])
            # One conversation per citizen, with an account each; the day's messages spread over them.
            conversations = citizens
            await bulk_insert(session, Conversation.__table__, (
                (i, (i * 7919) % accounts + 1, i, "open", 0, False, 0, 0, 0, 0, 0, 0, 0, 0, "", start)
                for i in range(1, conversations + 1)), columns=_CONVERSATION_COLUMNS)
            kept_messages: dict[int, list[int]] = {}
            rows = []
            for i in range(1, messages + 1):
                conversation = i % conversations + 1
                account = (conversation * 7919) % accounts + 1
                direction = "in" if i % 3 else "out"
                auto = "keyword" if direction == "out" and i % 9 == 0 else None
                counts = kept_messages.setdefault(account, [0, 0, 0])
                counts[0 if direction == "in" else 1] += 1
                counts[2] += auto is not None
                rows.append((i, conversation, account, direction, "text", "Xin chào", "xin chao", auto,
                             start + timedelta(seconds=i % 3000)))
            await bulk_insert(session, Message.__table__, rows, chunk=100_000,
                              columns=["id", "conversation_id", "account_id", "direction", "kind", "text",
                                       "text_folded", "auto", "created_at"])
            await bulk_insert(session, MessageDailyCount.__table__, (
                (account, day, inbound, outbound, auto, 0, 0, 0, 0, 0)
                for account, (inbound, outbound, auto) in sorted(kept_messages.items())),
                columns=["account_id", "day", "messages_in", "messages_out", "auto_replies", "conversations_started",
                         "responses", "response_seconds", "first_responses", "first_response_seconds"])
            kept_follows: dict[int, int] = {}
            follow_rows = []
            for k in range(follows):
                account, user = (k * 7919) % accounts + 1, k % citizens + 1
                kept_follows[account] = kept_follows.get(account, 0) + 1
                follow_rows.append((account, user, None, start + timedelta(seconds=k % 3000), 0, True))
            await bulk_insert(session, Follow.__table__, follow_rows,
                              columns=["account_id", "user_id", "commune_code", "created_at",
                                       "last_read_broadcast_id", "push_enabled"])
            await bulk_insert(session, FollowDailyCount.__table__, (
                (account, day, count, 0) for account, count in sorted(kept_follows.items())),
                columns=["account_id", "day", "follows", "unfollows"])
            for table in (Organisation.__table__, Account.__table__, User.__table__, Conversation.__table__,
                          Message.__table__):
                await reset_sequence(session, table)
            await session.commit()
        async with runtime.session() as session:
            await session.execute(text("ANALYZE"))
            await session.commit()
    finally:
        await runtime.close()


_CONVERSATION_COLUMNS = ["id", "account_id", "citizen_id", "state", "last_message_id", "has_unread", "staff_unread",
                         "citizen_unread", "staff_seen_message_id", "citizen_seen_message_id", "messages_in",
                         "messages_out", "responses", "response_seconds_total", "last_message_preview",
                         "created_at"]


def _raw_queries(sqlite: bool) -> list[str]:
    """The day's per-account counts, read from the raw rows (what a rollup from raw data would do)."""
    since = "?" if sqlite else "$1"
    return [
        "SELECT account_id, SUM(CASE WHEN direction = 'in' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN direction = 'out' THEN 1 ELSE 0 END), SUM(CASE WHEN auto IS NOT NULL THEN 1 ELSE 0 END) "
        f"FROM messages WHERE created_at >= {since} GROUP BY account_id",
        f"SELECT account_id, COUNT(*) FROM follows WHERE created_at >= {since} GROUP BY account_id",
    ]


async def _raw_read(settings: Any, since: datetime) -> float:
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    try:
        async with runtime.read_session() as session:
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            started = time.perf_counter()
            if runtime.is_sqlite:
                value = since.replace(tzinfo=None).isoformat(sep=" ")
                for sql in _raw_queries(sqlite=True):
                    cursor = await driver.execute(sql, (value,))
                    await cursor.fetchall()
                    await cursor.close()
            else:
                for sql in _raw_queries(sqlite=False):
                    await driver.fetch(sql, since)
            return (time.perf_counter() - started) * 1000
    finally:
        await runtime.close()


async def _roll(settings: Any, now: datetime, *, raw: bool = False) -> float:
    """One roll-up of the day from nothing: the rollups are first put back as they were before the day."""
    from sqlalchemy import delete, update

    from loa.domains.stats import service as stats
    from loa.domains.stats.models import StatsDurationRollup, StatsRollup, StatsState
    from loa.domains.stats.periods import vn_day
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    try:
        async with runtime.session() as session:
            await session.execute(delete(StatsRollup))
            await session.execute(delete(StatsDurationRollup))
            await session.execute(update(StatsState).values(settled_through=vn_day(now) - timedelta(days=1)))
            await session.commit()
        started = time.perf_counter()
        rolled = await stats.roll(runtime, now, raw=raw)
        elapsed = (time.perf_counter() - started) * 1000
        assert not rolled.rebuilt and rolled.first == rolled.last, rolled
        return elapsed
    finally:
        await runtime.close()


async def _settle(settings: Any, now: datetime) -> float:
    """The sweep after the day has settled: the day rolled once more and added to its months and years (once a
    day; the other sweeps of the day write its day rows only)."""
    from loa.domains.stats import service as stats
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    try:
        started = time.perf_counter()
        rolled = await stats.roll(runtime, now + timedelta(days=1, hours=2))
        elapsed = (time.perf_counter() - started) * 1000
        assert not rolled.rebuilt and rolled.first is not None and rolled.first < rolled.last, rolled
        return elapsed
    finally:
        await runtime.close()


async def _check(settings: Any, messages: int, follows: int, grain: str) -> None:
    """The nation's row of the day (or of its year, once the day settled) holds every event of the day: the
    benchmark measures real work."""
    from sqlalchemy import select

    from loa.domains.stats.models import StatsRollup
    from loa.runtime import Runtime

    runtime = Runtime(settings)
    try:
        async with runtime.read_session() as session:
            row = (await session.execute(select(StatsRollup.messages_in + StatsRollup.messages_out,
                                                StatsRollup.follows).where(
                StatsRollup.scope == "nation", StatsRollup.grain == grain))).one()
            assert tuple(row) == (messages, follows), (tuple(row), messages, follows)
    finally:
        await runtime.close()


async def _measure(settings: Any, database: str, messages: int, follows: int, accounts: int,
                   now: datetime) -> dict[str, Any]:
    ours: list[float] = []
    raw: list[float] = []
    reads: list[float] = []
    settles: list[float] = []
    since = now - timedelta(hours=2)
    for _ in range(RUNS):
        reads.append(await _raw_read(settings, since))
        raw.append(await _roll(settings, now, raw=True))
        await _check(settings, messages, follows, "day")
        ours.append(await _roll(settings, now))
        await _check(settings, messages, follows, "day")
        settles.append(await _settle(settings, now))
        await _check(settings, messages, follows, "year")
    value, baseline = statistics.median(ours), statistics.median(raw)
    note(f"{NAME}: {database}: roll-up {value:.1f} ms, roll-up re-reading the raw rows {baseline:.1f} ms "
         f"(the raw reads alone {statistics.median(reads):.1f} ms; the day's settling sweep "
         f"{statistics.median(settles):.1f} ms)")
    return result(NAME, {"database": database, "events": messages + follows, "messages": messages,
                         "follows": follows, "accounts": accounts},
                  value=value, unit="ms", baseline=baseline,
                  baseline_what="the same roll-up re-reading the day's raw messages and follows", better="lower",
                  p50_ms=round(percentile(ours, 50), 2), p99_ms=round(percentile(ours, 99), 2),
                  raw_read_ms=round(statistics.median(reads), 2), settle_ms=round(statistics.median(settles), 2),
                  target_ratio=TARGET_RATIO, runs=RUNS)
