"""The emulator is as strict as Telegram (../shared/docs/telegram-rules.md), tested with the
real python-telegram-bot client and with raw HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeChatAdministrators,
    BotCommandScopeChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter

from bot.sandbox.emulator import MESSAGE_ACCESSIBLE_FOR, BotApiEmulator
from bot.sandbox.flood import FloodLimits
from bot.sandbox.users import SimUser
from dialogs.charts import new_figure, to_png


@pytest.fixture
async def tg(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    bot = Bot(emulator.token, base_url=f"{emulator.base_url}/bot")
    async with bot:
        yield bot


@pytest.fixture
def user(emulator: BotApiEmulator) -> SimUser:
    return SimUser(emulator, 42, "Ada")


async def started(user: SimUser) -> int:
    await user.send("/start")
    return user.id


@pytest.mark.refusals_expected
async def test_envelope_token_and_unknown_method(emulator: BotApiEmulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.base_url) as http:
        ok = (await http.get(f"/bot{emulator.token}/getMe")).json()
        assert ok["ok"] is True and ok["result"]["username"]
        wrong = await http.post("/bot123:wrong/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        missing = await http.post(f"/bot{emulator.token}/sendTelepathy")
        assert (missing.status_code, missing.json()["description"]) == (404, "Not Found")
        as_json = await http.post(
            f"/bot{emulator.token}/getUpdates", json={"timeout": 0, "offset": 1}
        )
        assert as_json.json() == {"ok": True, "result": []}
    with pytest.raises(InvalidToken):
        async with Bot("123456:" + "x" * 35, base_url=f"{emulator.base_url}/bot"):
            pass


@pytest.mark.refusals_expected
async def test_html_rules_with_telegrams_words(tg: Bot, user: SimUser) -> None:
    chat = await started(user)
    sent = await tg.send_message(chat, "<b>Hi</b> &amp; <i>you</i>", parse_mode=ParseMode.HTML)
    assert sent.text == "Hi & you"
    assert [e.type for e in sent.entities] == ["bold", "italic"]
    cases = {
        "<3 Bob": 'Unsupported start tag "3" at byte offset 0',
        "a < b": 'Unsupported start tag "" at byte offset 2',
        "x<y": "Unclosed start tag at byte offset 1",
        "<b>x</i>": 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"',
        "<b>x": 'Can\'t find end tag corresponding to start tag "b"',
    }
    for text, reason in cases.items():
        with pytest.raises(BadRequest) as caught:
            await tg.send_message(chat, text, parse_mode=ParseMode.HTML)
        # PTB drops "Bad Request: " and capitalizes what is left.
        assert caught.value.message == f"Can't parse entities: {reason}".capitalize()
    with pytest.raises(BadRequest, match="(?i)Text must be non-empty"):
        await tg.send_message(chat, "<b> </b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)Message text is empty"):
        await tg.send_message(chat, "")
    with pytest.raises(BadRequest, match="(?i)Message is too long"):
        await tg.send_message(chat, "x" * 4097)
    await tg.send_message(chat, "😀" * 4096)  # code points, not UTF-16 units
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await tg.send_document(chat, b"{}", filename="a.json", caption="x" * 1025)


@pytest.mark.refusals_expected
async def test_keyboard_rules(tg: Bot, user: SimUser) -> None:
    chat = await started(user)

    def kb(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(list(rows))

    with pytest.raises(BadRequest, match="(?i)Button_data_invalid"):
        await tg.send_message(
            chat, "x", reply_markup=kb([InlineKeyboardButton("a", callback_data="x" * 65)])
        )
    with pytest.raises(BadRequest, match="(?i)Wrong http url"):
        await tg.send_message(
            chat, "x", reply_markup=kb([InlineKeyboardButton("a", url="javascript:alert(1)")])
        )
    with pytest.raises(BadRequest, match="(?i)Too many buttons in a row"):
        row = [InlineKeyboardButton(str(i), callback_data=str(i)) for i in range(9)]
        await tg.send_message(chat, "x", reply_markup=kb(row))
    with pytest.raises(BadRequest, match="(?i)Too many buttons"):
        rows = [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
        await tg.send_message(chat, "x", reply_markup=kb(*rows))
    ok = await tg.send_message(
        chat, "x", reply_markup=kb([InlineKeyboardButton("a", callback_data="x" * 64)])
    )
    assert ok.reply_markup.inline_keyboard[0][0].callback_data == "x" * 64


@pytest.mark.refusals_expected
async def test_edit_rules(tg: Bot, user: SimUser) -> None:
    chat = await started(user)
    sent = await tg.send_message(chat, "one")
    with pytest.raises(BadRequest, match="(?i)Message is not modified"):
        await tg.edit_message_text("one", chat, sent.message_id)
    edited = await tg.edit_message_text("two", chat, sent.message_id)
    assert edited.text == "two"
    with pytest.raises(BadRequest, match="(?i)Message to edit not found"):
        await tg.edit_message_text("x", chat, 999)


@pytest.mark.refusals_expected
async def test_callback_queries_are_answered_once_within_the_deadline(
    tg: Bot, user: SimUser, emulator: BotApiEmulator
) -> None:
    chat = await started(user)
    message = await tg.send_message(
        chat,
        "pick",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
    )
    query = await user.tap("A")
    assert isinstance(query.id, str)
    (update,) = [u for u in await tg.get_updates() if u.callback_query]
    assert update.callback_query.data == "a"
    assert update.callback_query.message.message_id == message.message_id
    assert await tg.answer_callback_query(query.id, text="ok")
    too_old = "(?i)query is too old and response timeout expired or query id is invalid"
    with pytest.raises(BadRequest, match=too_old):
        await tg.answer_callback_query(query.id)
    late = await user.tap("A")
    emulator.callback_deadline = 0.05
    await asyncio.sleep(0.1)
    with pytest.raises(BadRequest, match=too_old):
        await tg.answer_callback_query(late.id)
    with pytest.raises(BadRequest, match=too_old):
        await tg.answer_callback_query("forged")


@pytest.mark.refusals_expected
async def test_blocked_deactivated_and_never_started(tg: Bot, emulator: BotApiEmulator) -> None:
    blocker = SimUser(emulator, 7, "Bo")
    await blocker.send("/start")
    await blocker.block()
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await tg.send_message(7, "hello?")
    await blocker.unblock()
    await tg.send_message(7, "welcome back")
    stranger = SimUser(emulator, 8, "Cy")
    with pytest.raises(Forbidden, match="(?i)bot can't initiate conversation with a user"):
        await tg.send_message(stranger.id, "hi")
    await stranger.send("hi")
    await stranger.delete_account()
    with pytest.raises(Forbidden, match="(?i)user is deactivated"):
        await tg.send_message(stranger.id, "hi")
    with pytest.raises(BadRequest, match="(?i)Chat not found"):
        await tg.send_message(123456789, "hi")
    kinds = [next(k for k in u.to_dict() if k != "update_id") for u in await tg.get_updates()]
    assert kinds.count("my_chat_member") == 2


@pytest.mark.refusals_expected
@pytest.mark.parametrize(
    "flood_limits", [FloodLimits(overall_rate=0.1, overall_burst=10, chat_rate=1, chat_burst=5)]
)
async def test_flood_control(tg: Bot, emulator: BotApiEmulator) -> None:
    one = SimUser(emulator, 1, "One")
    await one.send("/start")
    for _ in range(5):
        await tg.send_message(1, "burst")
    with pytest.raises(RetryAfter) as caught:
        await tg.send_message(1, "one too many")
    assert caught.value.retry_after.total_seconds() >= 1
    users = [SimUser(emulator, 100 + i, "U") for i in range(20)]
    for u in users:
        await u.send("/start")
    sent = refused = 0
    for u in users:
        try:
            await tg.send_message(u.id, "hi")
            sent += 1
        except RetryAfter:
            refused += 1
    # 10 at once overall (then one every 10 s), 5 of them already used by the burst above.
    assert (sent, refused) == (5, 15)


async def test_second_get_updates_conflicts(tg: Bot, emulator: BotApiEmulator) -> None:
    first = asyncio.create_task(tg.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    async with Bot(emulator.token, base_url=f"{emulator.base_url}/bot") as second:
        second_poll = asyncio.create_task(second.get_updates(timeout=1))
        with pytest.raises(Conflict, match="(?i)terminated by other getUpdates request"):
            await first
        assert await second_poll == ()


async def test_updates_are_confirmed_by_offset(tg: Bot, user: SimUser) -> None:
    await user.send("one")
    await user.send("two")
    updates = await tg.get_updates()
    assert [u.message.text for u in updates] == ["one", "two"]
    assert [u.message.text for u in await tg.get_updates()] == ["one", "two"]
    again = await tg.get_updates(offset=updates[-1].update_id + 1)
    assert again == ()
    await user.send("/start now")
    (command,) = await tg.get_updates(offset=updates[-1].update_id + 1)
    assert command.message.entities[0].type == "bot_command"


@contextlib.asynccontextmanager
async def hook_server(hook: Callable[[web.Request], Awaitable[web.Response]]) -> AsyncIterator[str]:
    """A webhook endpoint on this machine for the emulator to post to; its URL."""
    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


async def test_webhook_posts_updates_with_the_secret_and_retries(
    tg: Bot, user: SimUser, emulator: BotApiEmulator
) -> None:
    received: list[tuple[str | None, dict]] = []
    fail_first = [True]

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        if fail_first[0]:
            fail_first[0] = False
            return web.Response(status=500)
        return web.Response()

    async with hook_server(hook) as url:
        await tg.set_webhook(url, secret_token="s3cret")
        with pytest.raises(
            Conflict, match="(?i)can't use getUpdates method while webhook is active"
        ):
            await tg.get_updates()
        await user.send("via webhook")
        for _ in range(50):
            if len(received) >= 2:
                break
            await asyncio.sleep(0.05)
        assert [secret for secret, _ in received[:2]] == ["s3cret", "s3cret"]
        assert received[0][1] == received[1][1], "a failed delivery is retried"
        assert received[1][1]["message"]["text"] == "via webhook"
        info = await tg.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert info.last_error_message and "500" in info.last_error_message
        await tg.delete_webhook()
        assert await tg.get_updates() == ()


async def test_webhooks_go_in_parallel_up_to_max_connections_but_in_order_per_chat(
    tg: Bot, emulator: BotApiEmulator
) -> None:
    """As Telegram: several deliveries at once (up to `max_connections`), never two of one
    chat at once, each chat's updates in the order they happened."""
    in_flight: set[int] = set()
    most = [0]
    seen: list[tuple[int, str]] = []
    overlaps: list[int] = []

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        chat = update["message"]["chat"]["id"]
        if chat in in_flight:
            overlaps.append(chat)
        in_flight.add(chat)
        most[0] = max(most[0], len(in_flight))
        await asyncio.sleep(0.05)  # the bot handling it
        seen.append((chat, update["message"]["text"]))
        in_flight.discard(chat)
        return web.Response()

    users = [SimUser(emulator, 7000 + i, f"U{i}") for i in range(6)]
    async with hook_server(hook) as url:
        await tg.set_webhook(url, max_connections=3)
        for n in range(4):
            for user in users:
                await user.send(f"message {n}")
        for _ in range(200):
            if len(seen) == 24:
                break
            await asyncio.sleep(0.05)
        assert len(seen) == 24
        assert overlaps == [], "never two updates of one chat at once"
        assert most[0] == 3, "several chats at once, up to max_connections"
        for user in users:
            mine = [text for chat, text in seen if chat == user.id]
            assert mine == [f"message {n}" for n in range(4)], "each chat in order"
        await tg.delete_webhook()


@pytest.mark.refusals_expected
async def test_set_my_commands_rules(tg: Bot, emulator: BotApiEmulator) -> None:
    await tg.set_my_commands([BotCommand("start", "Begin")])
    assert emulator.commands == [{"command": "start", "description": "Begin"}]
    with pytest.raises(BadRequest, match="(?i)Bot_command_invalid"):
        await tg.set_my_commands([BotCommand("Start-Now", "Begin")])
    with pytest.raises(BadRequest):
        await tg.set_my_commands([BotCommand("ok", "x" * 257)])


def names(menu: list[dict[str, str]]) -> list[str]:
    return [c["command"] for c in menu]


async def test_command_menus_are_kept_per_scope_and_language(
    tg: Bot, emulator: BotApiEmulator, user: SimUser
) -> None:
    """Telegram's order in a private chat: chat, all_private_chats, default; each in the
    person's language first. getMyCommands answers for exactly the scope asked."""
    staff = SimUser(emulator, 43, "Sam")
    german = SimUser(emulator, 44, "Jo", language_code="de")
    await tg.set_my_commands([BotCommand("start", "Begin")])
    await tg.set_my_commands(
        [BotCommand("start", "Begin"), BotCommand("broadcast", "Staff only")],
        scope=BotCommandScopeChat(staff.id),
    )
    assert emulator.commands == [{"command": "start", "description": "Begin"}], "default only"
    assert names(emulator.menu_for(user.id)) == ["start"]
    assert names(emulator.menu_for(staff.id)) == ["start", "broadcast"]
    # all_private_chats covers everyone's private chat, except where a chat's own list is set.
    await tg.set_my_commands([BotCommand("help", "Help")], scope=BotCommandScopeAllPrivateChats())
    assert names(emulator.menu_for(user.id)) == ["help"]
    assert names(emulator.menu_for(staff.id)) == ["start", "broadcast"]
    # A list in the person's language comes first within a scope, never across scopes.
    await tg.set_my_commands(
        [BotCommand("hilfe", "Hilfe")], scope=BotCommandScopeAllPrivateChats(), language_code="de"
    )
    assert names(emulator.menu_for(german.id)) == ["hilfe"]
    assert names(emulator.menu_for(user.id)) == ["help"]
    assert names(emulator.menu_for(user.id, language_code="de-AT")) == ["hilfe"]
    await tg.set_my_commands([BotCommand("start", "Los")], scope=BotCommandScopeChat(german.id))
    assert names(emulator.menu_for(german.id)) == ["start"]
    # The lists as set, scope by scope: nothing falls back.
    got = await tg.get_my_commands(scope=BotCommandScopeChat(staff.id))
    assert [c.command for c in got] == ["start", "broadcast"]
    assert await tg.get_my_commands(scope=BotCommandScopeChat(user.id)) == ()
    assert await tg.get_my_commands(language_code="de") == ()
    assert [c.command for c in await tg.get_my_commands()] == ["start"]
    # Deleted (or set to nothing): the broader list shows through again.
    await tg.delete_my_commands(scope=BotCommandScopeAllPrivateChats())
    assert names(emulator.menu_for(user.id)) == ["start"]
    assert names(emulator.menu_for(german.id)) == ["start"], "its chat's list is still set"
    await tg.set_my_commands([], scope=BotCommandScopeChat(staff.id))
    assert names(emulator.menu_for(staff.id)) == ["start"]
    await tg.delete_my_commands()
    assert emulator.commands == [] and emulator.menu_for(user.id) == []


async def test_command_menus_in_groups(tg: Bot, emulator: BotApiEmulator, user: SimUser) -> None:
    """In a group: chat_member, chat_administrators (admins), chat, all_chat_administrators
    (admins), all_group_chats, default; the private chats' scopes do not apply."""
    group = emulator.group_chat(-100777, "Clinic staff")
    await tg.set_my_commands([BotCommand("start", "Begin")])
    await tg.set_my_commands([BotCommand("help", "Help")], scope=BotCommandScopeAllPrivateChats())
    assert names(emulator.menu_for(user.id, chat_id=group.id)) == ["start"]
    await tg.set_my_commands([BotCommand("team", "Team")], scope=BotCommandScopeAllGroupChats())
    await tg.set_my_commands(
        [BotCommand("close", "Close")], scope=BotCommandScopeChatAdministrators(group.id)
    )
    assert names(emulator.menu_for(user.id, chat_id=group.id)) == ["team"]
    assert names(emulator.menu_for(user.id, chat_id=group.id, admin=True)) == ["close"]
    await tg.set_my_commands(
        [BotCommand("mine", "Mine")], scope=BotCommandScopeChatMember(group.id, user.id)
    )
    assert names(emulator.menu_for(user.id, chat_id=group.id, admin=True)) == ["mine"]
    assert names(emulator.menu_for(43, chat_id=group.id)) == ["team"]
    assert names(emulator.menu_for(user.id)) == ["help"], "the private chat is apart"


@pytest.mark.refusals_expected
async def test_command_scope_rules(tg: Bot, emulator: BotApiEmulator, user: SimUser) -> None:
    menu = [BotCommand("start", "Begin")]
    with pytest.raises(BadRequest, match="(?i)^chat not found$"):
        await tg.set_my_commands(menu, scope=BotCommandScopeChat(-100404))
    with pytest.raises(BadRequest, match="(?i)can't use specified scope in private chats"):
        await tg.set_my_commands(menu, scope=BotCommandScopeChatAdministrators(user.id))
    with pytest.raises(BadRequest, match="(?i)can't use specified scope in private chats"):
        await tg.delete_my_commands(scope=BotCommandScopeChatMember(user.id, user.id))
    for code in ("EN", "eng", "en-US"):
        with pytest.raises(BadRequest, match="(?i)invalid language code specified"):
            await tg.set_my_commands(menu, language_code=code)
    with pytest.raises(BadRequest, match="(?i)invalid language code specified"):
        await tg.get_my_commands(language_code="english")
    async with httpx.AsyncClient(base_url=emulator.base_url) as http:
        url = f"/bot{emulator.token}/setMyCommands"
        commands = [{"command": "start", "description": "Begin"}]
        odd = await http.post(url, json={"commands": commands, "scope": {"type": "everyone"}})
        assert odd.json()["description"] == (
            "Bad Request: can't parse BotCommandScope: Unsupported type specified"
        )
        member = {"type": "chat_member", "chat_id": -100404, "user_id": 0}
        bad = await http.post(url, json={"commands": commands, "scope": member})
        assert "Invalid user_id" in bad.json()["description"]
    assert emulator.command_menus == {}, "nothing refused was kept"


async def test_presses_on_any_message_and_old_ones_arrive_inaccessible(
    tg: Bot, emulator: BotApiEmulator, user: SimUser
) -> None:
    """`press`: anyone can press a button on a message in another chat (the callback query is
    from the presser, its message in that chat); once a message is 48 hours old, Telegram
    sends only its chat and id (an InaccessibleMessage, date 0), buttons unknown."""
    await started(user)
    other = SimUser(emulator, 43, "Sam")
    await other.send("/start")
    sent = await tg.send_message(
        other.id,
        "panel",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]]),
    )
    panel = other.chat.messages[sent.message_id]
    fresh = emulator.press(user.user, panel, "go")
    panel.date -= MESSAGE_ACCESSIBLE_FOR + 60
    old = emulator.press(user.user, panel, "go")
    queries = {
        u.callback_query.id: u.callback_query for u in await tg.get_updates() if u.callback_query
    }
    now, then = queries[fresh.id], queries[old.id]
    assert now.from_user.id == then.from_user.id == user.id
    assert now.message.chat.id == other.id and now.message.is_accessible
    assert now.message.reply_markup.inline_keyboard[0][0].callback_data == "go"
    # PTB reads it as a Message dated 0 (ZERO_DATE): not accessible, no buttons.
    assert not then.message.is_accessible and then.message.reply_markup is None
    assert (then.message.chat.id, then.message.message_id) == (other.id, panel.message_id)
    assert then.data == "go"
    assert await tg.answer_callback_query(now.id) and await tg.answer_callback_query(then.id)


async def test_documents_are_kept_for_the_user(tg: Bot, user: SimUser) -> None:
    chat = await started(user)
    await tg.send_document(
        chat,
        json.dumps({"a": 1}).encode(),
        filename="data.json",
        caption="<b>yours</b>",
        parse_mode=ParseMode.HTML,
    )
    message = user.last_message
    assert message.document["file_name"] == "data.json"
    assert json.loads(message.file_content) == {"a": 1}
    assert message.caption == "yours"


def _png(width: int, height: int) -> bytes:
    """A PNG's signature and header (what Telegram and the emulator read the size from)."""
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + header + b"\x00" * 16


@pytest.mark.refusals_expected
async def test_photos_are_kept_with_their_real_size_or_refused(
    tg: Bot, user: SimUser, emulator: BotApiEmulator
) -> None:
    chat = await started(user)
    chart = to_png(new_figure())
    sent = await tg.send_photo(chat, chart, caption="<b>Chart</b>", parse_mode=ParseMode.HTML)
    assert (sent.photo[-1].width, sent.photo[-1].height) == (1200, 800)
    assert [(p.width, p.height) for p in sent.photo[:-1]] == [(320, 213), (800, 533)]
    assert emulator.chats[chat].messages[sent.message_id].file_content == chart
    again = await tg.send_photo(chat, sent.photo[-1].file_id)  # by file_id: the same sizes
    assert (again.photo[-1].width, again.photo[-1].height) == (1200, 800)
    jfif = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    frame = b"\xff\xc0\x00\x11\x08" + (90).to_bytes(2, "big") + (160).to_bytes(2, "big")
    jpeg = await tg.send_photo(chat, jfif + frame + b"\x03" + b"\x00" * 9 + b"\xff\xd9")
    assert (jpeg.photo[-1].width, jpeg.photo[-1].height) == (160, 90)

    for content, refusal in (
        (b"not an image at all", "IMAGE_PROCESS_FAILED"),
        (_png(6000, 4001), "PHOTO_INVALID_DIMENSIONS"),  # width + height over 10000
        (_png(2100, 100), "PHOTO_INVALID_DIMENSIONS"),  # sides over 20:1
        (_png(1200, 800) + b"\x00" * (10 * 2**20), "PHOTO_SAVE_FILE_INVALID"),  # over 10 MB
    ):
        with pytest.raises(BadRequest, match=f"(?i){refusal}"):
            await tg.send_photo(chat, content)
    assert len(emulator.errors) == 4
    assert (await tg.send_photo(chat, _png(2000, 100))).photo[-1].width == 1280  # 20:1 is fine
