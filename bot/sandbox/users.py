"""Simulated Telegram users: what a person does in the app, turned into Bot API updates.

Used by the terminal chat, the end-to-end tests and the benchmarks. Each action marks the
moment it happened, so `expect(...)` and `next_action()` wait only for what the bot did after.
"""

from __future__ import annotations

import time
from typing import Any

from bot.sandbox.emulator import Action, BotApiEmulator, CallbackQuery, Chat, Message

_MEDIA: dict[str, dict[str, Any]] = {
    "sticker": {
        "sticker": {
            "file_id": "STICKER1",
            "file_unique_id": "US1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
    },
    "photo": {
        "photo": [{"file_id": "PHOTO1", "file_unique_id": "UP1", "width": 640, "height": 480}]
    },
    "voice": {"voice": {"file_id": "VOICE1", "file_unique_id": "UV1", "duration": 3}},
    "location": {"location": {"latitude": 51.5072, "longitude": -0.1276}},
    "contact": {"contact": {"phone_number": "+440000000000", "first_name": "Someone"}},
    "document": {"document": {"file_id": "DOC1", "file_unique_id": "UD1", "file_name": "scan.pdf"}},
}


class SimUser:
    """One person with a private chat with the bot (and, for staff, the staff group)."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        user_id: int,
        first_name: str = "Alex",
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str = "en",
    ) -> None:
        self.emulator = emulator
        self.user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            self.user["username"] = username
        if last_name:
            self.user["last_name"] = last_name
        self.user["language_code"] = language_code
        self.chat: Chat = emulator.private_chat(self.user)
        self.acted_at = 0.0
        self._mark = emulator.seq_now

    @property
    def id(self) -> int:
        return int(self.user["id"])

    # --- doing things -------------------------------------------------------------------------

    def mark(self) -> None:
        """From now on, waits look only at what the bot does after this moment."""
        self._mark = self.emulator.seq_now
        self.acted_at = time.monotonic()

    async def send(
        self,
        text: str,
        *,
        chat: Chat | None = None,
        reply_to: Message | None = None,
        entities: list[dict[str, Any]] | None = None,
        anonymous: bool = False,
    ) -> Message:
        """Type a message (a command if it starts with '/') and send it; `entities` is the
        formatting the app would attach (bold, links...), offsets in UTF-16 units;
        `anonymous`: as an anonymous group admin (Telegram sends the group as `sender_chat`)."""
        entities = list(entities or [])
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            entities = [{"type": "bot_command", "offset": 0, "length": length}]
        extra: dict[str, Any] = {}
        target = chat or self.chat
        if reply_to is not None:
            extra["reply_to_message"] = self.emulator.message_json(reply_to)
        if anonymous:
            extra["sender_chat"] = target.as_json()
        return self._post(target, text=text, entities=entities, **extra)

    async def send_media(
        self,
        kind: str,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
    ) -> Message:
        """Send a sticker, photo, voice note, location, contact or document."""
        content = dict(_MEDIA[kind])
        if caption is not None:
            content["caption"] = caption
        if caption_entities:
            content["caption_entities"] = caption_entities
        return self._post(self.chat, **content)

    async def edit(self, message: Message, text: str) -> None:
        """Edit one of my earlier messages (Telegram sends the bot an edited_message)."""
        message.text = text
        message.edit_date = int(time.time())
        self.mark()
        self.emulator.push_update("edited_message", self.emulator.message_json(message))

    async def tap(self, label: str, *, message: Message | None = None) -> CallbackQuery:
        """Press the button with this text on the newest bot message that has it."""
        target, button = self._find_button(label, message)
        if "url" in button:
            raise ValueError(f"{label!r} is a link to {button['url']}, not a callback button")
        return await self.tap_data(target, button["callback_data"])

    async def tap_data(self, message: Message, data: str) -> CallbackQuery:
        """Send a callback query with any data: a real press, a stale one or a forged one."""
        query = self.emulator.new_callback_query(self.id)
        payload = {
            "id": query.id,
            "from": self.user,
            "message": self.emulator.message_json(message),
            "chat_instance": str(message.chat_id),
            "data": data,
        }
        self.mark()
        self.emulator.push_update("callback_query", payload)
        return query

    def url_of(self, label: str) -> str:
        """The link behind a URL button (pressing it opens a browser, not the bot)."""
        _, button = self._find_button(label, None)
        return str(button["url"])

    async def block(self) -> None:
        """Block the bot: Telegram stops delivering to me and tells the bot."""
        self.chat.blocked = True
        self._member_update("member", "kicked")

    async def unblock(self) -> None:
        self.chat.blocked = False
        self._member_update("kicked", "member")

    async def add_bot_to(self, group: Chat) -> None:
        """Add the bot to a group: Telegram tells the bot (a my_chat_member update)."""
        group.bot_removed = False
        self._member_update("left", "member", chat=group)

    async def delete_account(self) -> None:
        self.chat.deactivated = True

    # --- waiting for the bot ------------------------------------------------------------------

    async def next_action(self, timeout: float = 5.0) -> Action:
        """The bot's next send or edit in my chat after my last action."""
        action = await self.emulator.wait_for(
            self.chat.id, self._mark, lambda a: a.kind in ("send", "edit"), timeout
        )
        self._mark = action.seq
        return action

    async def expect(
        self, contains: str, timeout: float = 5.0, *, chat: Chat | None = None
    ) -> Message:
        """Wait for a bot message (new or edited) whose text contains `contains`."""
        target = chat or self.chat
        try:
            action = await self.emulator.wait_for(
                target.id,
                self._mark,
                lambda a: a.kind in ("send", "edit") and contains in a.message.shown_text,
                timeout,
            )
        except TimeoutError:
            seen = [a.message.shown_text[:80] for a in target.actions if a.seq > self._mark]
            raise AssertionError(f"bot never said {contains!r}; it said {seen}") from None
        self._mark = action.seq
        return action.message

    async def expect_silence(self, seconds: float = 0.5) -> None:
        """Assert the bot sends or edits nothing in my chat for a while."""
        try:
            action = await self.emulator.wait_for(
                self.chat.id, self._mark, lambda a: a.kind in ("send", "edit"), seconds
            )
        except TimeoutError:
            return
        raise AssertionError(f"bot unexpectedly said {action.message.shown_text[:200]!r}")

    async def settle(self, quiet: float = 1.0, timeout: float = 30.0) -> None:
        """Wait until the bot has said nothing in my chat for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                await self.next_action(timeout=quiet)
            except TimeoutError:
                return
        raise AssertionError(f"the bot kept talking for {timeout}s")

    @property
    def last_message(self) -> Message:
        """The newest message from the bot in my chat."""
        for message in reversed(list(self.chat.messages.values())):
            if message.from_bot and not message.deleted:
                return message
        raise LookupError("the bot has not written to me yet")

    def bot_messages(self) -> list[Message]:
        return [m for m in self.chat.messages.values() if m.from_bot and not m.deleted]

    # --- helpers ------------------------------------------------------------------------------

    def _post(self, chat: Chat, **content: Any) -> Message:
        if chat.type == "private":
            if chat.blocked:  # writing to a bot you blocked unblocks it, as in the app
                self.chat.blocked = False
                self._member_update("kicked", "member")
            chat.started = True
        message = self.emulator.add_user_message(chat, self.user, **content)
        self.mark()
        self.emulator.push_update("message", self.emulator.message_json(message))
        return message

    def _member_update(self, old: str, new: str, *, chat: Chat | None = None) -> None:
        """The bot's membership of my private chat (or of `chat`, a group) changed."""

        def member(status: str) -> dict[str, Any]:
            data: dict[str, Any] = {"status": status, "user": self.emulator.bot_user}
            if status == "kicked":
                data["until_date"] = 0
            return data

        payload = {
            "chat": (chat or self.chat).as_json(),
            "from": self.user,
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        self.mark()
        self.emulator.push_update("my_chat_member", payload)

    def _find_button(self, label: str, message: Message | None) -> tuple[Message, dict[str, Any]]:
        candidates = [message] if message else list(reversed(self.bot_messages()))
        for candidate in candidates:
            for button in candidate.flat_buttons:
                if button.get("text") == label:
                    return candidate, button
        for candidate in candidates:
            matches = [b for b in candidate.flat_buttons if label in str(b.get("text", ""))]
            if len(matches) == 1:
                return candidate, matches[0]
        shown = [b.get("text") for m in candidates[:3] for b in m.flat_buttons]
        raise LookupError(f"no button {label!r}; the newest buttons are {shown}")
