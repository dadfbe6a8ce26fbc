"""The HTTP server's parts that the end-to-end tests (tests/test_e2e_webhook.py) cannot
provoke at will: a minute of log lines, a failed accept, a client on another machine, a
database error's words, a server full of busy connections."""

from __future__ import annotations

import asyncio
import errno
import logging
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bot.http import without_token
from bot.http_limits import ACCEPT_FAILED, AcceptErrors, ConnectionCap, CountedWarning
from bot.http_server import _from_this_machine
from bot.readiness import NotReady, ReadinessCheck

TOKEN = "1234567:SANDBOX-emulator-token-not-a-real-one-00"


def test_a_counted_warning_is_logged_once_a_minute_with_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    warning = CountedWarning(logging.getLogger("t"), "refused %s: %d", clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        for second in range(120):  # ten a second for two minutes
            for tenth in range(10):
                now[0] = second + tenth / 10
                warning("guess")
        now[0] = 130.0
        warning("guess")
    # At 0 s, at 60 s (the 600 since), then the 599 after 60 s and this one.
    assert caplog.messages == ["refused guess: 1", "refused guess: 600", "refused guess: 600"]


async def test_failed_accepts_are_logged_once_a_minute_and_the_rest_passed_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    passed_on: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: passed_on.append(context))
    handler = AcceptErrors()
    handler.install(loop)
    try:
        emfile = OSError(errno.EMFILE, "Too many open files")
        with caplog.at_level(logging.WARNING):
            for _ in range(1000):
                loop.call_exception_handler({"message": ACCEPT_FAILED, "exception": emfile})
            loop.call_exception_handler({"message": "something else"})
    finally:
        handler.uninstall()
        loop.set_exception_handler(None)
    assert caplog.messages == [
        "the HTTP server could not accept a connection: Too many open files (1 times; "
        "logged at most once a minute)"
    ]
    assert passed_on == [{"message": "something else"}]


@pytest.mark.parametrize(
    ("remote", "headers", "local"),
    [
        ("127.0.0.1", {}, True),
        ("127.0.0.53", {}, True),
        ("::1", {}, True),
        ("::ffff:127.0.0.1", {}, True),
        ("192.0.2.2", {}, False),
        ("10.0.0.11", {}, False),
        ("::ffff:192.0.2.2", {}, False),
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.7"}, False),
        ("127.0.0.1", {"Forwarded": "for=203.0.113.7"}, False),
        ("127.0.0.1", {"X-Real-IP": "203.0.113.7"}, False),
        ("", {}, False),
    ],
)
def test_only_this_machine_not_through_a_proxy_counts_as_local(
    remote: str, headers: dict[str, str], local: bool
) -> None:
    request = make_mocked_request("GET", "/metrics", headers=headers).clone(remote=remote)
    assert _from_this_machine(request) is local


def test_the_token_is_masked_in_urls_and_on_its_own() -> None:
    said = f"url='http://127.0.0.1:8081/bot{TOKEN}/getMe' and {TOKEN}, /file/botx:y/a.png"
    assert without_token(said) == (
        "url='http://127.0.0.1:8081/bot<BOT_TOKEN>/getMe' and <BOT_TOKEN>, "
        "/file/bot<BOT_TOKEN>/a.png"
    )


async def test_readiness_is_shared_while_checking_and_kept_a_few_seconds() -> None:
    calls = []

    async def database() -> None:
        calls.append("database")
        await asyncio.sleep(0.05)

    check = ReadinessCheck({"database": database}, max_age=60)
    results = await asyncio.gather(*(check.current() for _ in range(50)))
    assert calls == ["database"] and all(r.ready for r in results)
    assert (await check.current()).ready and calls == ["database"]


async def test_a_problem_says_what_failed_but_not_the_words_of_a_database_error() -> None:
    async def database() -> None:
        raise ConnectionError('connection to "db.internal" failed: role "bmx" does not exist')

    async def bot_api() -> None:
        raise NotReady("NetworkError: Bad Gateway")

    async def slow() -> None:
        await asyncio.sleep(10)

    check = ReadinessCheck({"database": database, "bot_api": bot_api, "slow": slow}, timeout=0.1)
    state = await check.current()
    assert not state.ready
    assert state.problems == {
        "database": "ConnectionError",
        "bot_api": "NetworkError: Bad Gateway",
        "slow": "no answer within 0.1 s",
    }


class FakeConnection:
    """What the cap sees of an aiohttp connection: its transport, and closing it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = mock.Mock(spec=asyncio.Transport)

    def force_close(self) -> None:
        self.transport = None


class FakeServer:
    """aiohttp's `web.Server` as the cap uses it: its connections, oldest first, and a
    factory of new ones."""

    def __init__(self, count: int) -> None:
        self.connections = [FakeConnection() for _ in range(count)]

    def __call__(self) -> FakeConnection:
        connection = FakeConnection()
        self.connections.append(connection)
        return connection


async def test_at_the_cap_the_oldest_idle_connection_makes_room_or_the_new_one_gets_503() -> None:
    cap = ConnectionCap(3)
    server = FakeServer(2)
    new = cap.factory(server)  # type: ignore[arg-type]
    first, second = server.connections
    assert isinstance(new(), FakeConnection)  # the third: room enough
    third = server.connections[2]
    release = asyncio.Event()

    async def handler(_request: object) -> web.Response:
        await release.wait()
        return web.Response()

    busy = [
        asyncio.create_task(
            cap.track(make_mocked_request("POST", "/telegram", transport=c.transport), handler)
        )
        for c in (first, third)
    ]
    await asyncio.sleep(0)
    assert isinstance(new(), FakeConnection)  # the fourth: the second, idle, made room
    assert second.transport is None and first.transport is not None
    fourth = server.connections[3]
    busy.append(
        asyncio.create_task(
            cap.track(make_mocked_request("POST", "/telegram", transport=fourth.transport), handler)
        )
    )
    await asyncio.sleep(0)
    refused = new()  # all three busy: the fifth gets a 503
    assert not isinstance(refused, FakeConnection)
    sent: list[bytes] = []
    transport = mock.Mock(spec=asyncio.Transport, write=sent.append)
    refused.connection_made(transport)
    assert sent[0].startswith(b"HTTP/1.1 503 ") and transport.close.called
    release.set()
    await asyncio.gather(*busy)
