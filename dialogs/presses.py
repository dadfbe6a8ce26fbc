"""The kinds of button that belong to no dialog of their own: the hand-off, the staff inbox,
the privacy switches and /delete. Every other kind is registered beside the dialog that
sends it (`dialogs.events`, `dialogs.reminders`, `dialogs.progress`, `dialogs.broadcasts`);
importing this module registers them all, so `all_kinds` is every button the bot makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Importing the dialogs registers their kinds of button.
from dialogs import broadcasts, events, progress, reminders  # noqa: F401
from dialogs.callbacks import Press, kinds, press


@press("h:y")
@dataclass(frozen=True)
class ShareRequest(Press):
    """Yes, send this very request (the confirmation names it) to the team."""

    request: int


@press("h:n")
@dataclass(frozen=True)
class DeclineRequest(Press):
    """Not now: the request is dropped, nothing shared."""

    request: int


@press("hc", staff_only=True)
@dataclass(frozen=True)
class CloseConversation(Press):
    """Under a request's post: close the client's conversation."""

    request: int


@press("hd", staff_only=True)
@dataclass(frozen=True)
class ShowDetails(Press):
    """Under a request's post: the health details the client agreed to share."""

    request: int


@press("ib:p", staff_only=True)
@dataclass(frozen=True)
class InboxPage(Press):
    page: int


@press("ib", staff_only=True)
@dataclass(frozen=True)
class InboxAction(Press):
    """Take, reply to or close one request of an /inbox page (shown again after)."""

    action: Literal["take", "reply", "close"]
    request: int
    page: int


@press("p")
@dataclass(frozen=True)
class SwitchConsent(Press):
    """/privacy's buttons: give or withdraw one consent."""

    topic: Literal["health", "tips"]
    agree: bool


@press("d:y")
@dataclass(frozen=True)
class DeleteEverything(Press):
    """/delete confirmed; the client's row id makes a button from before an earlier
    deletion stale."""

    client: int


@press("d:n")
@dataclass(frozen=True)
class KeepData(Press):
    """/delete: keep it after all."""


def all_kinds() -> list[type[Press]]:
    """Every kind of button the bot makes (the dialogs' and these)."""
    return kinds()
