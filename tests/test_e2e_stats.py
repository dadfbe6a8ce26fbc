"""/stats and /export for staff, end to end: figures from what clients really did, in two
windows of clinic days, a chart of each day with the totals as its caption, per-tip figures,
and the funnel as a CSV file without contact details."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from bot.settings import Settings
from storage.models import Broadcast, Client, Delivery, Event, Screening, utcnow
from tests.conftest import STAFF_CHAT_ID
from tests.content import content_folder
from tests.flows import Q, answer_all, execute, png_size, rows, start_and_consent
from tests.test_e2e_reminders import ManualClock

ZONE = "America/New_York"  # the clinic's days are not UTC days here


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    folder = content_folder(tmp_path / "content", clinic={"timezone": ZONE})
    return settings.model_copy(update={"content_dir": folder})


BANDS = {"low": "little or none", "some": "some", "strong": "strong"}  # as staff read them


def lines(text: str) -> list[str]:
    return text.splitlines()


async def test_stats_show_what_a_client_did(
    bot: RunningBot, alice: SimUser, staff: SimUser
) -> None:
    await start_and_consent(alice, source="spring_flyer")
    result = await answer_all(alice)
    assert "Your self-check result" in result.shown_text

    await staff.send("/stats")
    shown = lines((await staff.expect("Bot figures")).text or "")
    for line in (
        "New clients: 1 / 1",
        "• spring_flyer: 1 / 1",
        "• Started: 1 / 1",
        "• Finished with a result: 1 / 1",
        "• Red-flag exits: 0 / 0 (tier A 0 / 0, tier B 0 / 0)",
        "• Booking links shown: 1 / 1",
        "• Pain Eliminator: 1 / 1",  # every service a result recommends counts
        "• TNT Treatment and Training: 1 / 1",
        "Broadcasts started: 0 / 0",
    ):
        assert line in shown, f"{line!r} not in {shown}"
    assert not any(line.startswith("• direct") for line in shown), "staff are not clients"
    assert [c.source for c in await rows(bot, Client)] == ["spring_flyer"]


async def test_older_events_count_only_in_the_30_day_column(
    bot: RunningBot, staff: SimUser
) -> None:
    now = utcnow()

    def event(kind: str, days_ago: float, data: dict[str, object] | None = None) -> dict:  # type: ignore[type-arg]
        return {"kind": kind, "at": now - timedelta(days=days_ago), "data": data}

    await execute(
        bot,
        insert(Event).values(
            [
                event("client_new", 10, {"source": "old_<poster>"}),
                event("client_new", 2, {"source": None}),
                event("client_new", 45, {"source": "ancient"}),  # outside both windows
                event("screening_started", 10),
                event("red_flag_exit", 10, {"tier": "B"}),
                event("screening_finished", 12, {"band": "mild", "services": ["laser", "tnt"]}),
                event("break_done", 3),
                event("break_done", 20),
            ]
        ),
    )
    await execute(
        bot,
        insert(Client).values(
            telegram_id=9001, chat_id=9001, first_name="Old", created_at=now, last_active_at=now
        ),
    )
    await execute(
        bot,
        insert(Broadcast).values(
            staff_id=staff.id, status="done", segment="all", started_at=now - timedelta(days=9)
        ),
    )
    ((client,), (broadcast,)) = (await rows(bot, Client), await rows(bot, Broadcast))
    await execute(
        bot,
        insert(Delivery).values(
            broadcast_id=broadcast.id, client_id=client.id, chat_id=9001, status="sent"
        ),
    )

    await staff.send("/stats")
    shown = lines((await staff.expect("Bot figures")).text or "")
    for line in (
        "New clients: 1 / 2",
        "• direct: 1 / 1",
        "• old_<poster>: 0 / 1",
        "• Started: 0 / 1",
        "• Red-flag exits: 0 / 1 (tier A 0 / 0, tier B 0 / 1)",
        "• Deep Tissue Laser: 0 / 1",
        "• TNT Treatment and Training: 0 / 1",  # the second service counts too
        "• Breaks done: 1 / 2",
        "Broadcasts started: 0 / 1",
        "• delivered: 0 / 1",
    ):
        assert line in shown, f"{line!r} not in {shown}"
    assert not any("ancient" in line for line in shown)


async def test_a_client_sending_stats_gets_no_figures(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice)
    await alice.send("/teleport")
    # Its text now: the copy itself is edited once the question is asked again below.
    unknown = (await alice.expect("Please use the buttons")).text
    for command in ("/stats", "/export"):
        await alice.send(command)
        answer = await alice.expect("Please use the buttons")
        assert answer.text == unknown, "the same answer as any unknown command"
    await alice.expect_silence(0.3)
    assert not any("figures" in (m.text or "") for m in alice.bot_messages())

    stranger = SimUser(emulator, 6200, "Stranger")  # never started: the usual welcome
    await stranger.send("/stats")
    await stranger.expect("Before the self-check")
    assert not any("figures" in (m.text or "") for m in stranger.bot_messages())


async def test_staff_get_figures_in_the_staff_group_and_are_told_where_tips_are_written(
    bot: RunningBot, staff: SimUser, emulator: BotApiEmulator
) -> None:
    group = emulator.chats[STAFF_CHAT_ID]
    await staff.send("/stats", chat=group)
    chart = await staff.expect("Last 30 days", chat=group)
    assert chart.photo is not None and png_size(chart.file_content) == (1200, 800)
    # The export names rows of clients: it goes to Sam's private chat, once he has one.
    await staff.send("/export", chat=group)
    await staff.expect("open a chat with @", chat=group)
    assert [e.description for e in emulator.errors] == [
        "Forbidden: bot can't initiate conversation with a user"
    ]
    emulator.errors.clear()  # that refusal is how the bot learns it: asserted, then cleared
    await staff.send("/help")  # Sam opens a private chat with the bot
    await staff.expect("What I can do")
    await staff.send("/export", chat=group)
    exported = await staff.expect("Client funnel")
    await staff.expect("Sent to you in our private chat", chat=group)
    assert exported.document is not None
    assert not [m for m in group.messages.values() if m.document is not None]
    for command in ("/broadcast", "/tips"):
        await staff.send(command, chat=group)
        where = await staff.expect("Tips are written in a private chat with me", chat=group)
        assert f"@{bot.app.bot.username}" in (where.text or "")
    mallory = SimUser(emulator, 6666, "Mallory")  # in the group, not staff: no figures
    before = len(group.messages)
    await mallory.send("/stats", chat=group)
    await emulator.changed(0.5)
    assert not [m for m in list(group.messages.values())[before:] if m.from_bot]


def local(days_back: int, clock: time, now: datetime) -> datetime:
    """A clinic-clock moment `days_back` clinic days before today, in UTC."""
    zone = ZoneInfo(ZONE)
    day = now.astimezone(zone).date() - timedelta(days=days_back)
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


async def test_the_chart_its_caption_and_the_tips_figures_in_clinic_days(
    settings: Settings, staff: SimUser
) -> None:
    """On a fixed clock (noon in New York; its 30 days span the end of summer time, a
    25-hour day), so no test run straddles the clinic's midnight."""
    now = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    async with RunningBot(settings, poll_timeout=1.0, clock=ManualClock(now)) as bot:
        late, early = time(23, 59, 30), time(0, 0, 30)
        inserted = {
            # Yesterday 23:59 in New York is already today in UTC: still yesterday's.
            "client_new": [local(1, late, now), local(2, early, now), local(29, early, now)],
            "screening_finished": [local(3, time(12), now), local(1, late, now)],
            "red_flag_exit": [local(5, time(9), now)],
            "handoff": [local(6, time(18), now), local(10, time(18), now)],
            "booking_shown": [local(3, time(12), now)],
            "break_done": [local(d, time(11), now) for d in range(1, 29)],
        }
        outside = [local(30, late, now)]  # the day before the first: out, though within 30 UTC days
        await execute(
            bot,
            insert(Event).values(
                [
                    {"kind": kind, "at": at, "data": None}
                    for kind, ats in inserted.items()
                    for at in ats
                ]
                + [{"kind": "client_new", "at": at, "data": {"source": "old"}} for at in outside]
            ),
        )
        # Tips: #1 three days ago to four clients (one had blocked the bot), #2 yesterday to one.
        await execute(
            bot,
            insert(Client).values(
                [
                    {"telegram_id": 9100 + i, "chat_id": 9100 + i, "first_name": f"C{i}"}
                    for i in range(4)
                ]
            ),
        )
        clients = [c.id for c in await rows(bot, Client, Client.id)]
        first, second = now - timedelta(days=3), now - timedelta(days=1)
        await execute(
            bot,
            insert(Broadcast).values(
                [
                    {"staff_id": staff.id, "status": "done", "segment": "all", "started_at": at}
                    for at in (first, second)
                ]
            ),
        )
        tip1, tip2 = [b.id for b in await rows(bot, Broadcast, Broadcast.id)]
        deliveries = [(tip1, c, "sent", first) for c in clients[:3]]
        deliveries += [(tip1, clients[3], "blocked", first), (tip2, clients[0], "sent", second)]
        await execute(
            bot,
            insert(Delivery).values(
                [
                    {
                        "broadcast_id": b,
                        "client_id": c,
                        "chat_id": 1,
                        "status": st,
                        "updated_at": at,
                    }
                    for b, c, st, at in deliveries
                ]
            ),
        )
        unsubscribes = [
            (clients[0], second + timedelta(hours=2)),  # got both: the latest, #2, takes it
            (clients[1], first + timedelta(hours=47)),  # #1, within 48 h
            (clients[2], first + timedelta(hours=49)),  # too late for #1: for no tip
        ]
        await execute(
            bot,
            insert(Event).values(
                [
                    {"kind": "consent_tips", "client_id": c, "at": at, "data": {"agree": False}}
                    for c, at in unsubscribes
                ]
                + [
                    {
                        "kind": "consent_tips",
                        "client_id": clients[1],
                        "at": now,
                        "data": {"agree": True},
                    }
                ]
            ),
        )

        await staff.send("/stats")
        photo = await staff.expect("Last 30 days")
        assert photo.photo is not None and photo.file_content is not None
        assert png_size(photo.file_content) == (1200, 800)
        assert (photo.photo[-1]["width"], photo.photo[-1]["height"]) == (1200, 800)
        caption = dict(re.findall(r"^(.+): (\d+)$", photo.caption or "", re.M))
        names = {
            "client_new": "New clients",
            "screening_finished": "Self-checks finished",
            "booking_shown": "Booking links shown",
            "red_flag_exit": "Red-flag exits",
            "handoff": "Hand-offs to staff",
            "break_done": "Movement breaks done",
        }
        assert caption == {names[kind]: str(len(ats)) for kind, ats in inserted.items()}
        today = now.astimezone(ZoneInfo(ZONE))
        assert f"to {today:%d %b %Y} ({ZONE} time)" in (photo.caption or "")

        def day(moment: datetime) -> str:
            return f"{moment.astimezone(ZoneInfo(ZONE)):%d %b}"

        shown = lines((await staff.expect("Bot figures")).text or "")
        for line in (
            "New clients: 2 / 3",  # the 30-day column is the caption's figure
            "• Finished with a result: 2 / 2",
            "• Hand-offs to staff: 1 / 2",
            "• Breaks done: 6 / 28",
            "Broadcasts started: 2 / 2",
            f"• #{tip2}, {day(second)}: 1 delivered, 0 blocked, 1 unsubscribed",
            f"• #{tip1}, {day(first)}: 3 delivered, 1 blocked, 1 unsubscribed",
        ):
            assert line in shown, f"{line!r} not in {shown}"
        assert not any(line.startswith("• old") for line in shown), "the day before the 30 is out"


async def test_export_lists_consented_clients_without_contact_details(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice, source="spring_flyer", tips=False)
    await answer_all(alice)
    refuser = SimUser(emulator, 5002, "Refuser", username="no_health")
    await start_and_consent(refuser, health=False, source="refuser_flyer")
    await execute(
        bot,
        insert(Client).values(
            telegram_id=987654321,
            chat_id=987654321,
            first_name="<Mallory>",
            username="mallory_x",
            source="=HYPERLINK(1)",  # a spreadsheet formula stays text
            health_consent=True,
            tips_consent=True,
            safety_tier="B",
            created_at=datetime(2026, 1, 10, 3, 0, tzinfo=UTC),  # 9 Jan in New York
        ),
    )
    mallory = select(Client.id).where(Client.telegram_id == 987654321).scalar_subquery()
    await execute(  # she asked twice to talk to a person
        bot, insert(Event).values([{"kind": "handoff", "client_id": mallory}] * 2)
    )

    await staff.send("/export")
    sent = await staff.expect("Client funnel")
    assert "2 clients with health consent" in (sent.caption or "")
    assert "Only clients who gave health consent" in (sent.caption or "")
    assert sent.document is not None and sent.document["file_name"].endswith(".csv")
    content = (sent.file_content or b"").decode("utf-8-sig")
    for secret in ("Alice", "alice_b", str(alice.id), "Mallory", "mallory_x", "987654321"):
        assert secret not in content, f"{secret!r} is in the export"
    assert "refuser" not in content and "no_health" not in content, "no consent: not listed"
    table = list(csv.DictReader(io.StringIO(content)))
    (screening,) = await rows(bot, Screening)
    assert screening.result is not None
    (alice_row,) = [c for c in await rows(bot, Client) if c.telegram_id == alice.id]
    assert table == [
        {
            "row": "1",
            "source": "'=HYPERLINK(1)",
            "created": "2026-01-09",
            "health consent": "yes",
            "self-check finished": "no",
            "lazy-glute pattern": "",
            "red-flag tier": "B",
            "services recommended": "",
            "booking link shown": "no",
            "hand-offs to staff": "2",
            "reminders": "",
            "breaks done": "0",
            "tips consent": "yes",
        },
        {
            "row": "2",
            "source": "spring_flyer",
            "created": f"{alice_row.created_at.astimezone(ZoneInfo(ZONE)):%Y-%m-%d}",
            "health consent": "yes",
            "self-check finished": "yes",
            "lazy-glute pattern": BANDS[screening.result["band"]],
            "red-flag tier": "",
            "services recommended": "; ".join(
                Q.services[service].name for service in screening.result["services"]
            ),
            "booking link shown": "yes",  # with her result
            "hand-offs to staff": "0",
            "reminders": "",
            "breaks done": "0",
            "tips consent": "no",
        },
    ]
    assert "Pain Eliminator" in table[1]["services recommended"], "names, not ids"
