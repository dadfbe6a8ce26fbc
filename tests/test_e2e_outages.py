"""The database going away under a running bot (as a PostgreSQL restart looks from it): the
client who taps meanwhile is asked to try again, nothing is half-saved, the bot carries on
once the database is back, and the log says so in a line, not a traceback per tick."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from bot.runner import RunningBot
from bot.sandbox.users import SimUser
from bot.settings import Settings
from storage.models import Answer
from tests.flows import LABELS, Q, rows, safe_option, start_and_consent
from tests.tcp_proxy import TcpProxy


@pytest.fixture
def database_url(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        pytest.skip("a database server to lose: PostgreSQL")
    return database_url


def first_option(question_number: int) -> tuple[str, str]:
    question = Q.questions[question_number - 1]
    return question.id, LABELS[question.id][safe_option(question)]


async def test_the_database_restarted_mid_screening(
    settings: Settings, alice: SimUser, caplog: pytest.LogCaptureFixture
) -> None:
    url = make_url(settings.database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        async with RunningBot(
            settings.model_copy(update={"database_url": proxied}), poll_timeout=1.0
        ) as bot:
            await start_and_consent(alice)
            await alice.tap(first_option(1)[1])
            second = await alice.expect("Question 2 of")
            await proxy.cut()
            await alice.tap(first_option(2)[1], message=second)
            await alice.expect("Please try again", timeout=20)
            await proxy.restore()
            await alice.tap(first_option(2)[1], message=second)
            await alice.expect("Question 3 of", timeout=20)
            answers = [a.question_id for a in await rows(bot, Answer, Answer.id)]
    finally:
        await proxy.stop()
    assert answers == [first_option(1)[0], first_option(2)[0]], "each answer stored once"
    ours = [r for r in caplog.records if r.name.startswith(("bot", "storage"))]
    assert not [r for r in ours if r.exc_info], "no traceback for an outage"
    trouble = [r.getMessage() for r in ours if "the database failing" in r.getMessage()]
    assert 1 <= len(trouble) <= 2, trouble
