"""What the dialogs say: messages with inline buttons, independent of Telegram's classes."""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.callbacks import Press, encode


@dataclass(frozen=True)
class Button:
    """An inline button: a press (a kind of button, `dialogs.callbacks`) or a URL, never
    both. Its callback data is always the press's encoding: no button carries hand-made data."""

    text: str
    press: Press | None = None
    url: str | None = None

    @property
    def data(self) -> str | None:
        return encode(self.press) if self.press is not None else None


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


@dataclass(frozen=True)
class Notice:
    """What a pressed button's little answer says; `alert`: shown as a dialog to dismiss."""

    text: str | None = None
    alert: bool = False
