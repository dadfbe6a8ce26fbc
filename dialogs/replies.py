"""What the dialogs say: messages with inline buttons, independent of Telegram's classes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Button:
    """An inline button: callback data or a URL, never both."""

    text: str
    data: str | None = None
    url: str | None = None


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Reply:
    """One message. `replace` asks to edit the message whose button was pressed instead.
    `live`: it carries the current screening question's buttons; only one such message
    should keep them, so an older copy loses its buttons when this one arrives. `booking`: its
    message is remembered, so a hold that starts later can take the booking off it."""

    text: str
    buttons: Keyboard = ()
    replace: bool = False
    live: bool = False
    booking: bool = False  # it carries booking buttons: they go when a red-flag hold starts
