"""/stats for staff, end to end: figures from what clients really did, in two windows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from storage.models import Broadcast, Client, Delivery, Event, utcnow
from tests.flows import answer_all, execute, rows, start_and_consent


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
    await alice.send("/stats")
    answer = await alice.expect("Please use the buttons")
    assert answer.text == unknown, "the same answer as any unknown command"
    await alice.expect_silence(0.3)
    assert not any("figures" in (m.text or "") for m in alice.bot_messages())

    stranger = SimUser(emulator, 6200, "Stranger")  # never started: the usual welcome
    await stranger.send("/stats")
    await stranger.expect("Before the self-check")
    assert not any("figures" in (m.text or "") for m in stranger.bot_messages())
