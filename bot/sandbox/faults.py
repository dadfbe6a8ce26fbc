"""Failures the emulator injects on demand, as the real Bot API and the network produce them.

The tests use them to show that the bot tells "certainly not sent" (no connection) from
"maybe sent" (no answer), waits out a 429 on an edit without holding anyone else, and
loses nothing while Telegram is away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["server_error", "timeout", "drop", "limit", "redirect"]


@dataclass
class Fault:
    """What happens to the next `count` calls of `methods` (None: any but getUpdates):
    - server_error: a 502 Bad Gateway, the call not carried out;
    - timeout: the call carried out, its answer held back `hold` seconds (past the client's
      read timeout);
    - drop: the call carried out, the connection closed without an answer;
    - limit: a 429 with `retry_after`, the call not carried out;
    - redirect: a 307 back to the same URL, as a misconfigured proxy in front of the Bot API
      may answer (each redirect is a call of its own: an HTTP client gives up after about
      ten), the call not carried out."""

    kind: FaultKind
    methods: frozenset[str] | None = None
    count: int = 1
    retry_after: int = 1
    hold: float = 30.0


class Faults:
    """The faults waiting to happen, in the order they were asked for."""

    def __init__(self) -> None:
        self._waiting: list[Fault] = []
        self.injected: list[tuple[str, FaultKind]] = []  # (method, kind), as they happened

    def inject(
        self,
        kind: FaultKind,
        *methods: str,
        count: int = 1,
        retry_after: int = 1,
        hold: float = 30.0,
    ) -> None:
        self._waiting.append(Fault(kind, frozenset(methods) or None, count, retry_after, hold))

    def take(self, method: str) -> Fault | None:
        """The fault this call meets, if any (and one fewer of it left)."""
        for fault in self._waiting:
            if fault.methods is None and method == "getUpdates":
                continue
            if fault.methods is None or method in fault.methods:
                fault.count -= 1
                if fault.count <= 0:
                    self._waiting.remove(fault)
                self.injected.append((method, fault.kind))
                return fault
        return None
