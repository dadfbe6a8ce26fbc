"""`bmx-bot sandbox`: the real bot against the local emulator, with a chat in the terminal.

Type messages and commands as in Telegram; the bot's messages appear with their buttons
numbered, and typing a number presses that button. Lines starting with ':' are the
terminal's own commands (:help lists them): act as a staff member, send a sticker, block
the bot, and so on.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from bot.logs import redirect_logs
from bot.runner import RunningBot
from bot.sandbox.emulator import Action, BotApiEmulator, CallbackQuery, Chat, Message
from bot.sandbox.flood import FloodLimits
from bot.sandbox.markup import Entity, MarkupError, parse
from bot.sandbox.users import SimUser
from bot.settings import Settings
from storage import repo

STAFF_CHAT_ID = -1001000000001
STAFF_USER_ID = 9001
DOWNLOADS = Path("var/sandbox-downloads")
# Its own database, whatever DATABASE_URL says: trying the bot must never touch real clients.
SANDBOX_DATABASE = "sqlite:///var/sandbox.db"

HELP = """\
Type a message or a command (/start, /help...) and press Enter.
A number on its own presses that button of the newest message with buttons.
  :press M N      press button N of message #M
  :forge DATA     press a button with made-up callback data (a forged press)
  :sticker  :photo  :voice  :location  :contact   send that instead of text
  :edit TEXT      edit your last message
  :block  :unblock   block the bot, or come back
  :me             act as the client (default)
  :staff          act as a staff member, in your private chat with the bot
  :group          act as that staff member in the staff chat (hand-offs arrive there)
  :reply M TEXT   in the staff chat, reply to message #M (answers a hand-off)
  :quit           leave (Ctrl+D works too)"""


@dataclass
class _Persona:
    label: str
    user: SimUser
    chat: Chat


@dataclass
class TerminalChat:
    """Reads the person's lines, turns them into updates, prints what the bot does."""

    emulator: BotApiEmulator
    client: SimUser
    staff: SimUser
    staff_chat: Chat
    out: TextIO = sys.stdout
    color: bool = field(default_factory=lambda: sys.stdout.isatty())
    _printed: int = 0
    _queries: list[CallbackQuery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.personas = {
            "me": _Persona(self.client.user["first_name"], self.client, self.client.chat),
            "staff": _Persona(
                "staff: " + self.staff.user["first_name"], self.staff, self.staff.chat
            ),
            "group": _Persona("staff chat", self.staff, self.staff_chat),
        }
        self.persona = self.personas["me"]

    async def run(self, lines: asyncio.StreamReader) -> None:
        self.say(HELP + "\n\nSend /start to begin.\n")
        printer = asyncio.create_task(self._print_forever())
        try:
            while True:
                self._prompt()
                raw = await lines.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if line.strip() in (":quit", ":q", ":exit"):
                    break
                try:
                    await self.handle(line)
                except (LookupError, ValueError) as exc:
                    self.say(f"  ! {exc}")
                await asyncio.sleep(0.3)  # let the bot answer before the next prompt
        finally:
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer
            self._print_new()

    async def handle(self, line: str) -> None:
        """One line from the person."""
        user, chat = self.persona.user, self.persona.chat
        text = line.strip()
        if not text:
            return
        if text.isdigit():
            await self._press(self._newest_with_buttons(chat), int(text))
        elif text.startswith(":"):
            await self._terminal_command(text)
        else:
            await user.send(line, chat=chat)

    async def _terminal_command(self, text: str) -> None:
        name, _, rest = text[1:].partition(" ")
        user, chat = self.persona.user, self.persona.chat
        if name == "help":
            self.say(HELP)
        elif name in self.personas:
            self.persona = self.personas[name]
            self.say(f"  (you are now: {self.persona.label})")
        elif name == "press":
            message_id, _, number = rest.partition(" ")
            message = chat.messages.get(int(message_id.lstrip("#") or 0))
            if message is None:
                raise LookupError(f"there is no message #{message_id} here")
            await self._press(message, int(number or 1))
        elif name == "forge":
            self._queries.append(await user.tap_data(self._newest_with_buttons(chat), rest))
        elif name in ("sticker", "photo", "voice", "location", "contact"):
            await user.send_media(name)
        elif name == "edit":
            mine = [m for m in chat.messages.values() if not m.from_bot and m.text is not None]
            if not mine:
                raise LookupError("you have not sent a text message to edit")
            await user.edit(mine[-1], rest)
        elif name == "block":
            await user.block()
            self.say("  (you blocked the bot)")
        elif name == "unblock":
            await user.unblock()
            self.say("  (you unblocked the bot)")
        elif name == "reply":
            message_id, _, reply = rest.partition(" ")
            target = chat.messages.get(int(message_id.lstrip("#") or 0))
            if target is None:
                raise LookupError(f"there is no message #{message_id} here")
            await user.send(reply, chat=chat, reply_to=target)
        else:
            raise ValueError(f"unknown terminal command :{name} (:help lists them)")

    async def _press(self, message: Message, number: int) -> None:
        buttons = message.flat_buttons
        if not 1 <= number <= len(buttons):
            raise LookupError(f"message #{message.message_id} has buttons 1 to {len(buttons)}")
        button = buttons[number - 1]
        if "url" in button:
            self.say(f"  🔗 opens in the browser: {button['url']}")
            return
        self._queries.append(await self.persona.user.tap_data(message, button["callback_data"]))

    def _newest_with_buttons(self, chat: Chat) -> Message:
        for message in reversed(list(chat.messages.values())):
            if message.from_bot and not message.deleted and message.flat_buttons:
                return message
        raise LookupError("no message with buttons yet")

    # --- printing -----------------------------------------------------------------------------

    async def _print_forever(self) -> None:
        while True:
            await self.emulator.changed(1.0)
            self._print_new()

    def _print_new(self) -> None:
        watched = {c.id: p for p in self.personas.values() for c in [p.chat]}
        actions: list[tuple[Action, str]] = []
        for chat_id, persona in watched.items():
            chat = self.emulator.chats.get(chat_id)
            for action in chat.actions if chat else []:
                if action.seq > self._printed and action.kind in ("send", "edit"):
                    actions.append((action, persona.label))
        for action, where in sorted(actions, key=lambda pair: pair[0].seq):
            self._print_action(action, where)
            self._printed = max(self._printed, action.seq)
        for query in list(self._queries):
            if query.answered_at is not None:
                self._queries.remove(query)
                if query.answer and query.answer.get("text"):
                    self.say(f"  💬 pop-up: {query.answer['text']}")

    def _print_action(self, action: Action, where: str) -> None:
        message = action.message
        verb = "edited" if action.kind == "edit" else "says"
        self.say(f"\n🤖 [#{message.message_id} · {where}] bot {verb}:")
        if message.html is not None:
            self.say(_indent(self._terminal_text(message.html)))
        if message.document:
            DOWNLOADS.mkdir(parents=True, exist_ok=True)
            path = DOWNLOADS / str(message.document.get("file_name", "file"))
            if message.file_content is not None:
                path.write_bytes(message.file_content)
            self.say(f"  📎 {message.document.get('file_name')} (saved to {path})")
        if message.caption:
            self.say(_indent(message.caption))
        for number, button in enumerate(message.flat_buttons, start=1):
            link = f"  → {button['url']}" if "url" in button else ""
            self.say(f"    [{number}] {button['text']}{link}")

    def _terminal_text(self, html: str) -> str:
        try:
            parsed = parse(html)
        except MarkupError:
            return html
        if not self.color:
            return parsed.text
        return _with_ansi(parsed.text, parsed.entities)

    def _prompt(self) -> None:
        self.out.write(f"\n{self.persona.label} > ")
        self.out.flush()

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _with_ansi(text: str, entities: list[Entity]) -> str:
    """Bold and italics as terminal styles (entity offsets count UTF-16 units)."""
    styles = {"bold": "\033[1m", "italic": "\033[3m", "text_link": "\033[4m", "code": "\033[2m"}
    marks: dict[int, list[str]] = {}
    for entity in entities:
        style = styles.get(entity["type"])
        if style:
            start = entity["offset"]
            marks.setdefault(start, []).append(style)
            marks.setdefault(start + entity["length"], []).append("\033[0m")
    out: list[str] = []
    position = 0
    for char in text:
        out.extend(marks.pop(position, []))
        out.append(char)
        position += 2 if ord(char) > 0xFFFF else 1
    out.extend(marks.pop(position, []))
    return "".join(out) + "\033[0m"


async def _stdin_reader() -> asyncio.StreamReader:
    """Standard input as a stream: a terminal or a pipe; a redirected file is read whole."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except ValueError:  # a regular file (bmx-bot sandbox < script.txt)
        reader.feed_data(sys.stdin.buffer.read())
        reader.feed_eof()
    return reader


async def run_sandbox(
    settings: Settings,
    *,
    database_url: str = SANDBOX_DATABASE,
    name: str = "Alex",
    user_id: int = 1001,
    flood_limits: bool = True,
    lines: asyncio.StreamReader | None = None,
    out: TextIO | None = None,
) -> None:
    """Run the emulator, the real bot against it, and the terminal chat until :quit."""
    emulator = BotApiEmulator(flood=FloodLimits(enabled=flood_limits))
    base_url = await emulator.start()
    sandbox_settings = settings.model_copy(
        update={
            "bot_token": SecretStr(emulator.token),
            "bot_api_url": base_url,
            "database_url": database_url,
            "staff_ids": [*settings.staff_ids, STAFF_USER_ID],
            "staff_chat_id": STAFF_CHAT_ID,
        }
    )
    staff_chat = emulator.group_chat(STAFF_CHAT_ID, "BodyMechanix staff")
    client = SimUser(emulator, user_id, name)
    staff = SimUser(emulator, STAFF_USER_ID, "Sam", username="sam_bodymechanix")
    chat = TerminalChat(emulator, client, staff, staff_chat, out=out or sys.stdout)
    if out is None:
        log_file = redirect_logs(settings.log_level, Path("var/sandbox.log"))
        chat.say(f"(the bot's log goes to {log_file})")
    else:
        chat.color = False
    try:
        async with RunningBot(sandbox_settings, poll_timeout=1.0) as bot:
            # The emulated staff chat starts empty each run: old posts must not match new ones.
            await bot.services.db.run(repo.forget_staff_posts)
            await chat.run(lines or await _stdin_reader())
    finally:
        await emulator.stop()
