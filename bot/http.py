"""The bot's HTTP client for the Bot API: PTB's request interface on aiohttp.

python-telegram-bot ships one implementation (HTTPXRequest) and documents `BaseRequest` as
the place to plug in another. Measured with `bench/screening.py`, httpx was the largest single
cost of handling a button press (two Bot API calls per press); aiohttp, already used by the
project's emulator, does the same work for much less CPU. Everything above this class
(retries, errors, rate limiting, parsing) is still PTB's.

Its errors say what aiohttp said, with the bot token masked: some aiohttp errors (too many
redirects, an invalid URL) name the request URL, `/bot<token>/getMe`, and an error's words can
end up in an HTTP answer or on the terminal, where the log's own mask does not reach.
"""

from __future__ import annotations

import re

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.botapi import NotSent
from bot.logs import _MASK, _TOKEN_RE

_JSON = {"Content-Type": "application/json"}
_TOKEN_PATH_RE = re.compile(r"/bot[^/\s'\"]+")  # /bot<token>/method and /file/bot<token>/path


def without_token(text: str) -> str:
    """`text` with the bot token masked, wherever a URL or the token itself appears in it."""
    return _TOKEN_RE.sub(_MASK, _TOKEN_PATH_RE.sub(f"/bot{_MASK}", text))


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded connection pool, created on first use."""

    def __init__(
        self,
        connection_pool_size: int = 128,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 30.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            await self.initialize()
        assert self._session is not None
        files = request_data is not None and request_data.contains_files
        write = _value(write_timeout, self._media_write_timeout if files else self._write_timeout)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_value(pool_timeout, self._pool_timeout),  # waiting for a free connection
            sock_connect=_value(connect_timeout, self._connect_timeout),
            sock_read=_read(read_timeout, self._read_timeout, write),
        )
        body: bytes | aiohttp.FormData | None = None
        headers = None
        if request_data is not None:
            if files:
                body = _form(request_data)
            else:
                body, headers = request_data.json_payload, _JSON
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise NotSent(_said(exc)) from exc
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(_said(exc)) from exc


def _said(exc: aiohttp.ClientError) -> str:
    return without_token(f"aiohttp.{exc.__class__.__name__}: {exc}")


def _value(given: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(given, DefaultValue) else given


def _read(given: ODVInput[float], default: float | None, write: float | None) -> float | None:
    """aiohttp has no separate write timeout: the time to send counts against the read."""
    read = _value(given, default)
    if read is None or write is None:
        return None
    return read + write


def _form(request_data: RequestData) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime)
    return form
