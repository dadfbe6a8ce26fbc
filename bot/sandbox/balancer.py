"""A round-robin load balancer for local replicas, as a reverse proxy would be in production:
the tests and `bench/replicas.py` put several bot processes behind one webhook URL."""

from __future__ import annotations

import itertools
import socket

import aiohttp
from aiohttp import web


def free_port() -> int:
    """A TCP port free on this machine now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Balancer:
    """Round robin over the replicas; a replica that refuses the connection is skipped."""

    def __init__(self, replicas: list[str], path: str = "/telegram") -> None:
        self.replicas = replicas
        self.path = path
        self._next = itertools.cycle(range(len(replicas)))
        self.port = free_port()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post(self.path, self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        headers["Content-Type"] = "application/json"
        for _ in self.replicas:
            target = self.replicas[next(self._next)]
            try:
                async with self._http.post(f"{target}{self.path}", data=body, headers=headers) as r:
                    return web.Response(status=r.status, body=await r.read())
            except aiohttp.ClientConnectionError:
                continue  # that replica is down: the next one
        return web.Response(status=502)
