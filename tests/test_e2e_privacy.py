"""/privacy, /mydata, /delete, consent withdrawal and retention, end to end."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from bot.jobs import erase_inactive_clients
from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator, Message
from bot.sandbox.users import SimUser
from dialogs.render import labels
from storage.models import Answer, Client, Event, Screening, utcnow
from tests.flows import TYPICAL, answer, answer_all, execute, rows, start_and_consent


async def count(bot: RunningBot, model: type) -> int:
    return len(await rows(bot, model))


async def test_mydata_sends_everything_as_a_json_file(bot: RunningBot, alice: SimUser) -> None:
    await start_and_consent(alice)
    await answer_all(alice)
    await alice.send("/mydata")
    message = await alice.expect("everything I store about you")
    assert message.document["file_name"] == "my-data.json"
    data = json.loads(message.file_content)
    assert data["client"]["first_name"] == "Alice"
    assert data["client"]["telegram_id"] == alice.id
    assert data["client"]["health_consent"] is True
    (screening,) = data["screenings"]
    assert screening["status"] == "completed"
    assert screening["result"]["band"] == "strong"
    given = [(a["question_id"], a["option_id"]) for a in screening["answers"]]
    assert ("stairs", "back") in given and len(given) == 19
    assert "screening_finished" in [e["kind"] for e in data["events"]]


async def mydata_messages(user: SimUser) -> tuple[list[Message], Message]:
    """/mydata: the readable summary (one or more messages), then the JSON file."""
    await user.send("/mydata")
    first = await user.expect("What I hold about you")
    document = await user.expect("everything I store about you")
    summary = [
        m for m in user.bot_messages() if first.message_id <= m.message_id < document.message_id
    ]
    assert all(m.document is None and m.text for m in summary)
    return summary, document


async def test_mydata_reads_in_plain_words_before_the_file(bot: RunningBot, alice: SimUser) -> None:
    await start_and_consent(alice)
    await answer_all(alice, {**TYPICAL, "duration": "gt3m"})
    summary, document = await mydata_messages(alice)
    shown = "\n".join(m.shown_text for m in summary)
    assert "More than 3 months" in shown and "How long have you had this back pain?" in shown
    for code in ("gt3m", "rf_saddle", "rf_nerves", "offset_seconds", "duration", "lt6w"):
        assert code not in shown
    assert "Name: Alice" in shown and "Storing health answers: yes" in shown
    assert "Tips from the clinic: yes" in shown and "Movement-break reminders: off" in shown
    assert "Safety status:" in shown and "Pain Eliminator" in shown
    assert "/delete" in shown
    assert all(len(m.text or "") <= 4096 for m in summary)
    data = json.loads(document.file_content)  # the file still comes, after the words
    given = dict((a["question_id"], a["option_id"]) for a in data["screenings"][0]["answers"])
    assert given["duration"] == "gt3m"


async def test_mydata_for_a_name_full_of_markup(bot: RunningBot, emulator: BotApiEmulator) -> None:
    bob = SimUser(emulator, 6101, '<b>Bob & "Co"</b>')
    await start_and_consent(bob)
    await answer(bob, "rf_nerves", "no")
    summary, _ = await mydata_messages(bob)
    shown = "\n".join(m.shown_text for m in summary)
    assert 'Name: <b>Bob & "Co"</b>' in shown, "the name as text, not as markup"
    assert "part-way through a self-check: 1 answer so far" in shown
    assert "haven't finished a self-check" in shown
    # The emulator fixture fails the test if Telegram would have refused any of it.


async def test_delete_asks_first_then_erases_everything(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice)
    await answer_all(alice)
    await alice.send("/delete")
    await alice.expect("Delete everything?")
    await alice.tap(labels.delete_no)
    await alice.expect("nothing was deleted")
    assert await count(bot, Client) == 1

    await alice.send("/delete")
    await alice.expect("Delete everything?")
    await alice.tap(labels.delete_yes)
    await alice.expect("has been deleted")
    assert (await count(bot, Client), await count(bot, Screening), await count(bot, Answer)) == (
        0,
        0,
        0,
    )
    events = await rows(bot, Event)
    assert events and all(e.client_id is None for e in events), "counts stay, unlinked"

    await alice.send("/mydata")
    await alice.expect("I don't hold any data about you")
    await alice.send("/start")
    await alice.expect("Before the self-check")  # a fresh start, consent asked again
    (client,) = await rows(bot, Client)
    assert client.health_consent is None and client.stage == "consent_health"


async def test_privacy_explains_and_lets_consent_be_withdrawn(
    bot: RunningBot, alice: SimUser
) -> None:
    await alice.send("/privacy")
    await alice.expect("I don't hold any data about you")
    await start_and_consent(alice, tips=True)
    await answer(alice, "rf_nerves", "no")
    await alice.send("/privacy")
    page = await alice.expect("Your privacy")
    for must in ("What I store", "Why", "How long", "730 days", "/mydata", "/delete"):
        assert must in page.text
    assert "Storing health answers: yes" in page.text
    assert "Safety status" in page.text and "nothing flagged" in page.text
    await alice.tap(labels.withdraw_health)
    page = await alice.expect("Storing health answers: no")
    assert (await count(bot, Screening), await count(bot, Answer)) == (0, 0)
    await alice.tap(labels.tips_off)
    await alice.expect("Tips from the clinic: no")

    await alice.send("/start")  # no health consent now: general information only
    await alice.expect("nothing about it is stored")
    await alice.tap(labels.changed_mind)
    await alice.expect("Question 1 of 21")


async def test_stop_and_start_tips(bot: RunningBot, alice: SimUser) -> None:
    await alice.send("/stop_tips")
    await alice.expect("I don't hold any data about you yet")
    await start_and_consent(alice, tips=True)
    await alice.send("/stop_tips")
    await alice.expect("Tips are off")
    assert [c.tips_consent for c in await rows(bot, Client)] == [False]
    await alice.send("/start_tips")
    await alice.expect("Tips are on")
    assert [c.tips_consent for c in await rows(bot, Client)] == [True]


async def test_retention_erases_clients_inactive_for_too_long(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    bob = SimUser(emulator, 6100, "Bob")
    for person in (alice, bob):
        await start_and_consent(person)
        await answer(person, "rf_nerves", "no")
    old = utcnow() - timedelta(days=731)
    await execute(
        bot,
        update(Client).where(col(Client.telegram_id) == bob.id).values(last_active_at=old),
    )
    assert await erase_inactive_clients(bot.services, bot.app.bot) == 1
    (left,) = await rows(bot, Client)
    assert left.telegram_id == alice.id
    assert await count(bot, Answer) == 1
    jobs = [job.name for job in bot.app.job_queue.jobs()]  # type: ignore[union-attr]
    assert "retention" in jobs


async def test_withdrawing_consent_leaves_nothing_drawn_from_answers(
    bot: RunningBot, alice: SimUser
) -> None:
    await start_and_consent(alice)
    await answer_all(alice)
    await alice.send("/privacy")
    await alice.expect("Your privacy")
    await alice.tap(labels.withdraw_health)
    await alice.expect("Storing health answers: no")
    await alice.send("/mydata")
    data = json.loads((await alice.expect("everything I store about you")).file_content)
    assert data["screenings"] == []
    kinds = [e["kind"] for e in data["events"]]
    assert not {"screening_finished", "booking_shown", "red_flag_exit"} & set(kinds)
    assert "Pain Eliminator" not in json.dumps(data) and "strong" not in json.dumps(data)
    finished = [e for e in await rows(bot, Event) if e.kind == "screening_finished"]
    assert len(finished) == 1 and finished[0].client_id is None, "still counted, anonymously"


async def test_any_use_of_the_bot_counts_as_activity(bot: RunningBot, alice: SimUser) -> None:
    await start_and_consent(alice)
    old = utcnow() - timedelta(days=800)
    await execute(bot, update(Client).values(last_active_at=old))
    await alice.send("/privacy")
    await alice.expect("Your privacy")
    assert await erase_inactive_clients(bot.services, bot.app.bot) == 0
    assert len(await rows(bot, Client)) == 1
