"""A local Telegram Bot API for the sandbox, the tests and the benchmarks.

It speaks the Bot API over HTTP (`{base}/bot{token}/{method}`), so the real
python-telegram-bot client talks to it exactly as it would to api.telegram.org, and it is as
strict as Telegram about the rules bots trip over (`../shared/docs/telegram-rules.md`): HTML
parse mode, lengths, buttons, callback-query deadlines, flood control, blocked users,
competing getUpdates calls and webhooks. Everything it refuses is kept in `errors`, so a test
can assert that the bot never sent anything Telegram would reject.

People are simulated with `SimUser` (see `users.py`): they send messages and press buttons,
which become updates the bot receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, ClientSession, ClientTimeout, web

from bot.sandbox.faults import Faults
from bot.sandbox.flood import FloodControl, FloodLimits
from bot.sandbox.markup import MAX_CAPTION, MAX_TEXT, Entity, Markup, MarkupError, parse

log = logging.getLogger(__name__)

JSON_PARAMS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "commands",
    "allowed_updates",
    "scope",
    "link_preview_options",
    "reply_parameters",
}
CALLBACK_DEADLINE = 15.0
# A callback query's `message` is an InaccessibleMessage (chat, id, date 0) once the pressed
# message is older than this: Telegram no longer includes it.
MESSAGE_ACCESSIBLE_FOR = 48 * 3600
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_LANGUAGE_RE = re.compile(r"^([a-z]{2})?$")
_BUTTON_URL_RE = re.compile(r"^(https?://[^\s/?#]+[^\s]*|tg://\S+)$", re.I)


class ApiError(Exception):
    """A Bot API failure: the HTTP status, Telegram's description, optional parameters."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass
class Recorded:
    """A refused call, kept for the tests."""

    method: str
    code: int
    description: str
    params: dict[str, Any]


@dataclass
class Message:
    """A message as the emulator keeps it: what the chat shows now."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    sender: dict[str, Any]
    text: str | None = None
    html: str | None = None
    entities: list[Entity] = field(default_factory=list)
    caption: str | None = None
    reply_markup: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    file_content: bytes | None = None
    photo: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    edit_date: int | None = None
    deleted: bool = False

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        if not self.reply_markup:
            return []
        rows: list[list[dict[str, Any]]] = self.reply_markup.get("inline_keyboard", [])
        return rows

    @property
    def flat_buttons(self) -> list[dict[str, Any]]:
        return [b for row in self.buttons for b in row]

    @property
    def shown_text(self) -> str:
        return self.text if self.text is not None else (self.caption or "")


@dataclass
class Action:
    """Something the bot did in a chat, in order: 'send', 'edit' or 'delete'."""

    seq: int
    kind: str
    message: Message
    at: float


@dataclass
class Chat:
    id: int
    type: str  # private | group | supergroup
    title: str | None = None
    user: dict[str, Any] | None = None
    messages: dict[int, Message] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    started: bool = False  # a private chat the user opened, so the bot may write to it
    blocked: bool = False
    deactivated: bool = False
    bot_removed: bool = False  # a group that removed the bot
    pulse: asyncio.Event = field(default_factory=asyncio.Event)  # set when the bot acts here

    def as_json(self) -> dict[str, Any]:
        if self.type == "private":
            assert self.user is not None
            out = {"id": self.id, "type": "private", "first_name": self.user["first_name"]}
            for key in ("last_name", "username"):
                if self.user.get(key):
                    out[key] = self.user[key]
            return out
        return {"id": self.id, "type": self.type, "title": self.title or "Group"}


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    created: float
    answered_at: float | None = None
    answer: dict[str, Any] | None = None


class BotApiEmulator:
    """The Bot API for one bot token, in memory, served over HTTP by aiohttp."""

    def __init__(
        self,
        token: str = "1234567:SANDBOX-emulator-token-not-a-real-one-00",
        *,
        flood: FloodLimits | None = None,
        callback_deadline: float = CALLBACK_DEADLINE,
        bot_name: str = "BodyMechanix Assistant",
        bot_username: str = "bodymechanix_sandbox_bot",
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.flood = FloodControl(flood or FloodLimits())
        self.callback_deadline = callback_deadline
        self.chats: dict[int, Chat] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.errors: list[Recorded] = []
        self.calls: dict[str, int] = {}
        self._photos: dict[str, list[dict[str, Any]]] = {}  # a sent photo's file_id -> sizes
        # Command menus as the bot set them: (scope, language_code) -> list; scope is a
        # tuple such as ("default",), ("all_private_chats",), ("chat", chat_id) or
        # ("chat_member", chat_id, user_id); language_code "" is for all languages.
        self.command_menus: dict[tuple[tuple[Any, ...], str], list[dict[str, str]]] = {}
        self.webhook: dict[str, Any] | None = None
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._poller: asyncio.Future[None] | None = None
        self._seq = itertools.count(1)
        self.seq_now = 0  # the sequence number of the bot's latest action
        self._pulse = asyncio.Event()  # replaced and set whenever the bot acts
        self._webhook_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._address: tuple[str, int] | None = None
        self.base_url = ""
        self.faults = Faults()
        self.offline = False
        self.on_call: Callable[[str, dict[str, Any]], None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port); returns the base URL for BOT_API_URL."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.1
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]  # the one site's socket: (host, port, ...)
        self._address = (host, bound_port)
        self.base_url = f"http://{host}:{bound_port}"
        return self.base_url

    async def go_offline(self) -> None:
        """Telegram unreachable: new connections are refused and idle ones closed; a call
        already on its way is still answered (with "Connection: close"). Updates wait."""
        assert self._runner is not None and self._address is not None
        self.offline = True
        server = self._runner.server
        for site in list(self._runner.sites):
            await site.stop()
        for connection in list(server.connections if server else []):
            # aiohttp has no public "close when idle": a connection without a request in
            # progress is closed now, one with a request after its answer (see `_handle`).
            if not connection._request_in_progress:
                connection.force_close()

    async def come_back(self) -> None:
        """Telegram reachable again, at the same address."""
        assert self._runner is not None and self._address is not None
        self.offline = False
        site = web.TCPSite(self._runner, *self._address)
        await site.start()

    async def stop(self) -> None:
        if self._webhook_task:
            self._webhook_task.cancel()
        if self._poller and not self._poller.done():
            self._poller.cancel()
        if self._runner:
            await self._runner.cleanup()

    # --- the people's side (used by SimUser) ---------------------------------------------------

    @property
    def commands(self) -> list[dict[str, str]]:
        """The default scope's menu for all languages (what anyone sees when nothing more
        specific is set). What a particular person sees: `menu_for`."""
        return self.command_menus.get((("default",), ""), [])

    def menu_for(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        admin: bool = False,
        language_code: str | None = None,
    ) -> list[dict[str, str]]:
        """The command menu this person sees in their private chat with the bot (or, with
        `chat_id`, in that group; `admin`: as one of its administrators), by Telegram's rule:
        the first list that is set, scope by scope from the narrowest, each in the person's
        language first and then for all languages.

        Private chat: chat, all_private_chats, default. Group: chat_member,
        chat_administrators (admins), chat, all_chat_administrators (admins),
        all_group_chats, default. The language is the person's app language (`language_code`
        of the user), unless given."""
        if language_code is None:
            known = self.chats.get(user_id)
            language_code = str((known.user or {}).get("language_code", "")) if known else ""
        language = language_code.split("-")[0].lower()
        scopes: list[tuple[Any, ...]]
        if chat_id is None or chat_id == user_id:
            scopes = [("chat", user_id), ("all_private_chats",), ("default",)]
        else:
            scopes = [("chat_member", chat_id, user_id)]
            if admin:
                scopes.append(("chat_administrators", chat_id))
            scopes.append(("chat", chat_id))
            if admin:
                scopes.append(("all_chat_administrators",))
            scopes += [("all_group_chats",), ("default",)]
        for scope in scopes:
            for code in dict.fromkeys((language, "")):
                menu = self.command_menus.get((scope, code))
                if menu:
                    return [dict(c) for c in menu]
        return []

    def press(self, user: dict[str, Any], message: Message, data: str) -> CallbackQuery:
        """`user` presses a button carrying `data` on `message`, in whatever chat that message
        is: the callback query Telegram sends (`from` the presser, `message` the pressed one,
        or an InaccessibleMessage if it is too old; see `pressed_message_json`). A test makes
        one person press another's message this way (a client on a staff member's panel: a
        modified app, or a button the client was shown), old messages included; call the
        presser's SimUser.mark() first so its waits look only at what follows."""
        query = self.new_callback_query(int(user["id"]))
        payload = {
            "id": query.id,
            "from": user,
            "message": self.pressed_message_json(message),
            "chat_instance": str(message.chat_id),
            "data": data,
        }
        self.push_update("callback_query", payload)
        return query

    def pressed_message_json(self, message: Message) -> dict[str, Any]:
        """The `message` of a callback query: the message as it is now, or, once it is older
        than MESSAGE_ACCESSIBLE_FOR, an InaccessibleMessage (its chat, its id, date 0)."""
        if time.time() - message.date > MESSAGE_ACCESSIBLE_FOR:
            chat = self.chats[message.chat_id]
            return {"chat": chat.as_json(), "message_id": message.message_id, "date": 0}
        return self.message_json(message)

    def private_chat(self, user: dict[str, Any]) -> Chat:
        chat = self.chats.get(user["id"])
        if chat is None:
            chat = self.chats[user["id"]] = Chat(user["id"], "private", user=user)
        return chat

    def group_chat(self, chat_id: int, title: str = "Clinic staff", kind: str = "group") -> Chat:
        """A group the bot is in (`kind`: "group", or "supergroup", as a group becomes once
        it is large or public; its id then starts with -100)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Chat(chat_id, kind, title=title, started=True)
        return chat

    def add_user_message(self, chat: Chat, sender: dict[str, Any], **content: Any) -> Message:
        message = Message(
            message_id=self._next_message_id(chat),
            chat_id=chat.id,
            from_bot=False,
            date=int(time.time()),
            sender=sender,
            text=content.pop("text", None),
            entities=content.pop("entities", []),
            caption=content.pop("caption", None),
            extra=content,
        )
        chat.messages[message.message_id] = message
        return message

    def push_update(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, kind: payload})
        self._new_update.set()
        return update_id

    def new_callback_query(self, user_id: int) -> CallbackQuery:
        query = CallbackQuery(
            str(next(self._query_ids) * 7919 + 4000000), user_id, time.monotonic()
        )
        self.callback_queries[query.id] = query
        return query

    def message_json(self, message: Message) -> dict[str, Any]:
        chat = self.chats[message.chat_id]
        out: dict[str, Any] = {
            "message_id": message.message_id,
            "from": message.sender,
            "chat": chat.as_json(),
            "date": message.date,
        }
        if message.text is not None:
            out["text"] = message.text
            if message.entities:
                out["entities"] = message.entities
        if message.caption is not None:
            out["caption"] = message.caption
        if message.document is not None:
            out["document"] = message.document
        if message.photo is not None:
            out["photo"] = message.photo
        if message.reply_markup:
            out["reply_markup"] = message.reply_markup
        if message.edit_date:
            out["edit_date"] = message.edit_date
        out.update(message.extra)
        return out

    async def wait_for(
        self, chat_id: int, after_seq: int, predicate: Callable[[Action], bool], timeout: float
    ) -> Action:
        """The first bot action in the chat after `after_seq` that matches, waiting if needed."""
        deadline = time.monotonic() + timeout
        chat = self.chats[chat_id]
        while True:
            start = len(chat.actions)
            while start > 0 and chat.actions[start - 1].seq > after_seq:
                start -= 1
            for action in chat.actions[start:]:
                if predicate(action):
                    return action
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching bot action in chat {chat_id} within {timeout}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(chat.pulse.wait(), remaining)

    async def changed(self, timeout: float) -> None:
        """Wait until the bot does something anywhere (or a callback query is answered)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._pulse.wait(), timeout)

    def slow_answers(self, limit: float = 1.0) -> list[CallbackQuery]:
        """Queries answered later than `limit` seconds, or not at all."""
        return [
            q
            for q in self.callback_queries.values()
            if q.answered_at is None or q.answered_at - q.created > limit
        ]

    # --- HTTP -----------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            params = await self._read_params(request)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            self.calls[method] = self.calls.get(method, 0) + 1
            if self.on_call:
                self.on_call(method, params)
            fault = self.faults.take(method)
            if fault is not None and fault.kind == "server_error":
                return web.json_response(
                    {"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502
                )
            if fault is not None and fault.kind == "redirect":
                return web.Response(status=307, headers={"Location": str(request.rel_url)})
            if fault is not None and fault.kind == "limit":
                return web.json_response(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {fault.retry_after}",
                        "parameters": {"retry_after": fault.retry_after},
                    },
                    status=429,
                )
            result = await handler(params)
            if fault is not None and fault.kind == "timeout":
                await asyncio.sleep(fault.hold)
            if fault is not None and fault.kind == "drop":
                assert request.transport is not None
                request.transport.close()
        except ApiError as exc:
            if method != "getUpdates" or exc.code != 409:
                self.errors.append(Recorded(method, exc.code, exc.description, _loggable(params)))
            body: dict[str, Any] = {
                "ok": False,
                "error_code": exc.code,
                "description": exc.description,
            }
            if exc.parameters:
                body["parameters"] = exc.parameters
            return web.json_response(body, status=exc.code)
        response = web.json_response({"ok": True, "result": result})
        if self.offline:
            response.force_close()
        return response

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except json.JSONDecodeError:
                    raise bad_request("can't parse JSON") from None
                params.update(body if isinstance(body, dict) else {})
            elif ctype == "multipart/form-data":
                reader = await request.multipart()
                async for part in reader:
                    # PTB sends a flat body, every part named
                    assert isinstance(part, BodyPartReader) and part.name is not None
                    if part.filename is not None:
                        content = await part.read()
                        params[part.name] = {"filename": part.filename, "content": bytes(content)}
                    else:
                        params[part.name] = await part.text()
            else:
                params.update(await request.post())
        for key in JSON_PARAMS:
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except json.JSONDecodeError:
                    raise bad_request(f"can't parse {key} JSON object") from None
        return params

    # --- receiving updates ---------------------------------------------------------------------

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int(params.get("offset"), 0)
        limit = max(1, min(100, _int(params.get("limit"), 100)))
        timeout = max(0, _int(params.get("timeout"), 0))
        allowed = params.get("allowed_updates")
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if self._poller and not self._poller.done():
            self._poller.set_exception(
                ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            )
        deadline = time.monotonic() + timeout
        while True:
            ready = [u for u in self._updates if _allowed(u, allowed)][:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return ready
            self._new_update.clear()
            poller: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._poller = poller
            waiter = asyncio.ensure_future(self._new_update.wait())
            try:
                await asyncio.wait(
                    (waiter, poller), timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                waiter.cancel()
            if poller.done():
                poller.result()  # raises the 409 if another call took over
            elif self._poller is poller:
                self._poller = None
                poller.cancel()

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url", ""))
        if not url:
            return await self._m_deleteWebhook(params)
        if not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.match(r"^[A-Za-z0-9_-]{1,256}$", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if _truthy(params.get("drop_pending_updates")):
            self._updates.clear()
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": params.get("allowed_updates"),
            "max_connections": params.get("max_connections"),
            "last_error": None,
        }
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        if _truthy(params.get("drop_pending_updates")):
            self._updates.clear()
        self.webhook = None
        if self._webhook_task:
            self._webhook_task.cancel()
            self._webhook_task = None
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook and self.webhook["last_error"]:
            info["last_error_date"], info["last_error_message"] = self.webhook["last_error"]
        return info

    async def _deliver_webhooks(self) -> None:
        """POST updates to the webhook as Telegram does: up to `max_connections` at once (40
        unless set), but one at a time per chat, in order (a chat's next update waits until
        the bot has answered the one before); a non-2xx answer is retried later."""
        backoff = 0.2
        in_flight: dict[int, asyncio.Task[bool]] = {}  # update id -> its delivery
        busy_chats: set[object] = set()
        async with ClientSession(timeout=ClientTimeout(total=30)) as http:
            try:
                while self.webhook:
                    hook = self.webhook
                    limit = int(hook.get("max_connections") or 40)
                    for update in list(self._updates):
                        if len(in_flight) >= limit:
                            break
                        chat = _update_chat(update)
                        if update["update_id"] in in_flight or chat in busy_chats:
                            continue
                        if not _allowed(update, hook["allowed_updates"]):
                            continue
                        busy_chats.add(chat)
                        in_flight[update["update_id"]] = asyncio.create_task(
                            self._post_update(http, hook, update)
                        )
                    if not in_flight:
                        self._new_update.clear()
                        await self._new_update.wait()
                        continue
                    arrived = asyncio.ensure_future(self._new_update.wait())
                    done, _ = await asyncio.wait(
                        [*in_flight.values(), arrived], return_when=asyncio.FIRST_COMPLETED
                    )
                    arrived.cancel()
                    self._new_update.clear()
                    failed = False
                    for update_id, task in list(in_flight.items()):
                        if task not in done:
                            continue
                        del in_flight[update_id]
                        update = next(u for u in self._updates if u["update_id"] == update_id)
                        busy_chats.discard(_update_chat(update))
                        if task.result():
                            self._updates.remove(update)
                        else:
                            failed = True
                    if failed:
                        await asyncio.sleep(backoff)
                        backoff = min(backoff * 2, 5.0)
                    elif done - {arrived}:
                        backoff = 0.2
            finally:
                for task in in_flight.values():
                    task.cancel()

    async def _post_update(
        self, http: ClientSession, hook: dict[str, Any], update: dict[str, Any]
    ) -> bool:
        headers = {}
        if hook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        try:
            async with http.post(hook["url"], json=update, headers=headers) as response:
                if 200 <= response.status < 300:
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except Exception as exc:  # any transport failure is a delivery failure
            error = f"Connection failed: {exc.__class__.__name__}"
        hook["last_error"] = (int(time.time()), error)
        return False

    # --- bot identity and settings -------------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_logOut(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_close(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        target = self._command_target(params)
        if len(commands) > 100:
            raise bad_request("too much commands specified")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not _COMMAND_RE.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request(
                    "command description is empty"
                    if not description
                    else "BOT_COMMAND_DESCRIPTION_INVALID"
                )
        if commands:
            self.command_menus[target] = [
                {"command": str(c["command"]), "description": str(c["description"])}
                for c in commands
            ]
        else:  # an empty list is no list: the broader scopes show through, as after delete
            self.command_menus.pop(target, None)
        return True

    async def _m_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        """Exactly that scope and language's list (no falling back), [] if none is set."""
        return [dict(c) for c in self.command_menus.get(self._command_target(params), [])]

    async def _m_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        self.command_menus.pop(self._command_target(params), None)
        return True

    def _command_target(self, params: dict[str, Any]) -> tuple[tuple[Any, ...], str]:
        """The (scope, language_code) a *MyCommands call is about, checked as Telegram checks
        them; a missing scope is the default one."""
        scope = _command_scope(params.get("scope"))
        if len(scope) > 1 and scope[1] <= 0:  # a group: one the bot is in
            chat = self.chats.get(scope[1])
            if chat is None or chat.bot_removed:
                raise bad_request("chat not found")
        elif len(scope) > 1 and scope[0] != "chat":
            raise bad_request("can't use specified scope in private chats")
        # A user id is taken as it comes: Telegram says "chat not found" for someone who never
        # wrote to the bot, but here people (SimUser) come into being when a test makes them,
        # often after the bot has started and set its menus.
        language = params.get("language_code") or ""
        if not isinstance(language, str) or not _LANGUAGE_RE.match(language):
            raise bad_request("invalid language code specified")
        return scope, language

    async def _m_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._writable_chat(params)
        return True

    # --- sending ------------------------------------------------------------------------------

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._writable_chat(params)
        if "text" not in params or params["text"] == "":
            raise bad_request("message text is empty")
        parsed = _parse(str(params["text"]), params.get("parse_mode"), params.get("entities"))
        _check_text(parsed, MAX_TEXT, caption=False)
        markup = _check_markup(params.get("reply_markup"))
        self._flood(chat)
        return self._store_bot_message(chat, text=parsed, html=str(params["text"]), markup=markup)

    def _media(self, params: dict[str, Any], kind: str) -> tuple[Chat, Any, Markup | None, Any]:
        """What every send of a file checks: the chat, the file, the caption, the buttons."""
        chat = self._writable_chat(params)
        media = params.get(kind)
        if not media:
            raise bad_request(f"there is no {kind} in the request")
        caption = _caption(params)
        markup = _check_markup(params.get("reply_markup"))
        self._flood(chat)
        return chat, media, caption, markup

    async def _m_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, document, caption, markup = self._media(params, "document")
        if isinstance(document, dict):
            content = document["content"]
            meta = {
                "file_name": document["filename"],
                "mime_type": _mime(document["filename"]),
                "file_size": len(content),
            }
        else:
            content, meta = None, {}
        meta.update({"file_id": f"DOC{time.time_ns()}", "file_unique_id": f"UD{time.time_ns()}"})
        message = self._store_bot_message(chat, caption=caption, markup=markup, document=meta)
        chat.messages[message["message_id"]].file_content = content
        return message

    async def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        """An uploaded photo is checked as Telegram checks it (an image, at most 10 MB, width
        + height at most 10000, sides at most 20:1) and kept, with its real size; a file_id
        sent again shows the sizes it had (an unknown one, a user's photo, 800x600)."""
        self._writable_chat(params)
        upload = params.get("photo")
        content = upload["content"] if isinstance(upload, dict) else None
        size = _image_size(content) if content is not None else None
        chat, photo, caption, markup = self._media(params, "photo")
        if size is None:  # no upload: a file id
            sizes = self._photos.get(str(photo)) or _photo_sizes(str(photo), 800, 600)
        else:
            sizes = _photo_sizes(f"PHOTO{time.time_ns()}", *size)
            self._photos[sizes[-1]["file_id"]] = sizes
        message = self._store_bot_message(chat, caption=caption, markup=markup, photo=sizes)
        chat.messages[message["message_id"]].file_content = content
        return message

    def _store_bot_message(
        self,
        chat: Chat,
        *,
        text: Markup | None = None,
        html: str | None = None,
        caption: Markup | None = None,
        markup: dict[str, Any] | None = None,
        document: dict[str, Any] | None = None,
        photo: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        message = Message(
            message_id=self._next_message_id(chat),
            chat_id=chat.id,
            from_bot=True,
            date=int(time.time()),
            sender=self.bot_user,
            text=text.text if text else None,
            html=html,
            entities=text.entities if text else [],
            caption=caption.text if caption else None,
            reply_markup=markup,
            document=document,
            photo=photo,
        )
        if caption and caption.entities:
            message.extra["caption_entities"] = caption.entities
        chat.messages[message.message_id] = message
        self._record(chat, "send", message)
        return self.message_json(message)

    # --- editing ------------------------------------------------------------------------------

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        if "text" not in params or params["text"] == "":
            raise bad_request("message text is empty")
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        parsed = _parse(str(params["text"]), params.get("parse_mode"), params.get("entities"))
        _check_text(parsed, MAX_TEXT, caption=False)
        markup = _check_markup(params.get("reply_markup"))
        if (
            parsed.text == message.text
            and parsed.entities == message.entities
            and markup == message.reply_markup
        ):
            raise _not_modified()
        message.text, message.entities, message.html = (
            parsed.text,
            parsed.entities,
            str(params["text"]),
        )
        message.reply_markup = markup
        return self._edited(chat, message)

    async def _m_editMessageCaption(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        if message.caption is None and message.document is None and message.photo is None:
            raise bad_request("there is no caption in the message to edit")
        caption = _caption(params)
        markup = _check_markup(params.get("reply_markup"))
        new_caption = caption.text if caption else None
        if new_caption == message.caption and markup == message.reply_markup:
            raise _not_modified()
        message.caption, message.reply_markup = new_caption, markup
        return self._edited(chat, message)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        markup = _check_markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise _not_modified()
        message.reply_markup = markup
        return self._edited(chat, message)

    async def _m_deleteMessage(self, params: dict[str, Any]) -> bool:
        chat = self._known_chat(params)
        message = chat.messages.get(_int(params.get("message_id"), 0))
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        if message.date < time.time() - MESSAGE_ACCESSIBLE_FOR:  # a bot's own, after 48 hours
            raise bad_request("message can't be deleted")
        message.deleted = True
        self._record(chat, "delete", message)
        return True

    def _editable(self, params: dict[str, Any]) -> tuple[Chat, Message]:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the emulator")
        chat = self._writable_chat(params)
        message = chat.messages.get(_int(params.get("message_id"), 0))
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    def _edited(self, chat: Chat, message: Message) -> dict[str, Any]:
        message.edit_date = int(time.time())
        self._record(chat, "edit", message)
        return self.message_json(message)

    # --- callback queries ---------------------------------------------------------------------

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query = self.callback_queries.get(str(params.get("callback_query_id", "")))
        too_old = "query is too old and response timeout expired or query ID is invalid"
        if query is None or query.answered_at is not None:
            raise bad_request(too_old)
        if time.monotonic() - query.created > self.callback_deadline:
            raise bad_request(too_old)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered_at = time.monotonic()
        query.answer = {k: params[k] for k in ("text", "show_alert", "url") if k in params}
        self._wake()
        return True

    # --- rules shared by the methods ----------------------------------------------------------

    def _known_chat(self, params: dict[str, Any]) -> Chat:
        raw = params.get("chat_id")
        try:
            chat_id = int(str(raw))
        except ValueError:
            raise bad_request("chat not found") from None
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _writable_chat(self, params: dict[str, Any]) -> Chat:
        chat = self._known_chat(params)
        if chat.type != "private" and chat.bot_removed:
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        if chat.type == "private":
            if chat.deactivated:
                raise ApiError(403, "Forbidden: user is deactivated")
            if chat.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not chat.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _flood(self, chat: Chat) -> None:
        wait = self.flood.check(chat.id)
        if wait:
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})

    def _next_message_id(self, chat: Chat) -> int:
        return max(chat.messages, default=0) + 1

    def _record(self, chat: Chat, kind: str, message: Message) -> None:
        self.seq_now = next(self._seq)
        chat.actions.append(Action(self.seq_now, kind, message, time.monotonic()))
        pulse, chat.pulse = chat.pulse, asyncio.Event()
        pulse.set()
        self._wake()

    def _wake(self) -> None:
        pulse, self._pulse = self._pulse, asyncio.Event()
        pulse.set()


def _not_modified() -> ApiError:
    return bad_request(
        "message is not modified: specified new message content and reply markup are "
        "exactly the same as a current content and reply markup of the message"
    )


def _parse(text: str, parse_mode: Any, entities: Any) -> Markup:
    mode = str(parse_mode or "").lower()
    if mode == "html":
        try:
            return parse(text)
        except MarkupError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    if mode in ("markdown", "markdownv2"):
        raise bad_request("the emulator only speaks HTML parse mode; this bot uses HTML")
    if mode:
        raise bad_request(f"unsupported parse_mode {parse_mode}")
    return Markup(text, entities if isinstance(entities, list) else [])


def _check_text(parsed: Markup, limit: int, *, caption: bool) -> None:
    if not caption and not parsed.text.strip():
        raise bad_request("text must be non-empty")
    if len(parsed.text) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")


def _caption(params: dict[str, Any]) -> Markup | None:
    if params.get("caption") in (None, ""):
        return None
    parsed = _parse(
        str(params["caption"]), params.get("parse_mode"), params.get("caption_entities")
    )
    _check_text(parsed, MAX_CAPTION, caption=True)
    return parsed


def _check_markup(markup: Any) -> dict[str, Any] | None:
    """Inline keyboards as Telegram checks them: each button has text and one action,
    callback data of 1..64 bytes, a usable URL; at most 100 buttons and 8 per row."""
    if markup in (None, "", {}):
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup  # reply keyboards and removals are passed through
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    if sum(len(r) for r in rows) > 100:
        raise bad_request("too many buttons in the reply markup")
    for row in rows:
        if len(row) > 8:
            raise bad_request("too many buttons in a row of the reply markup")
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise bad_request("text buttons are unallowed in the inline keyboard")
            actions = [k for k in button if k != "text"]
            if len(actions) != 1:
                raise bad_request("BUTTON_TYPE_INVALID")
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode())
                if not 1 <= size <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button and not _BUTTON_URL_RE.match(str(button["url"])):
                raise bad_request(
                    f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL"
                )
    return markup


def _command_scope(raw: Any) -> tuple[Any, ...]:
    """A BotCommandScope object as a key: ("default",), ("chat", chat_id), ...; Telegram's
    words for one it cannot read. Chats are numeric ids (the emulator's groups have no
    @username, so a username names no chat)."""
    if raw in (None, ""):
        return ("default",)
    if not isinstance(raw, dict):
        raise bad_request("can't parse BotCommandScope: BotCommandScope must be an Object")
    kind = raw.get("type")
    if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
        return (kind,)
    if kind not in ("chat", "chat_administrators", "chat_member"):
        raise bad_request("can't parse BotCommandScope: Unsupported type specified")
    if "chat_id" not in raw:
        raise bad_request("can't parse BotCommandScope: Can't find field \"chat_id\"")
    try:
        chat_id = int(str(raw["chat_id"]))
    except ValueError:
        raise bad_request("chat not found") from None
    if kind != "chat_member":
        return (kind, chat_id)
    try:
        user_id = int(str(raw.get("user_id", "")))
    except ValueError:
        user_id = 0
    if user_id <= 0:
        raise bad_request("can't parse BotCommandScope: Invalid user_id specified")
    return (kind, chat_id, user_id)


def _update_chat(update: dict[str, Any]) -> object:
    """The chat an update belongs to (its update id if it has none): Telegram keeps each
    chat's updates in order."""
    for kind, payload in update.items():
        if kind == "update_id" or not isinstance(payload, dict):
            continue
        chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
        if chat:
            return chat["id"]
        if "from" in payload:
            return payload["from"]["id"]
    return ("update", update["update_id"])


def _allowed(update: dict[str, Any], allowed: Any) -> bool:
    if not allowed:
        return True
    return any(kind in update for kind in allowed)


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value)) if value not in (None, "") else default
    except ValueError:
        raise bad_request(f"invalid integer value {value!r}") from None


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes")


MAX_PHOTO_BYTES = 10 * 2**20
MAX_PHOTO_SIDES = 10_000  # width + height
MAX_PHOTO_RATIO = 20
PHOTO_SIDE = 1280  # Telegram scales the largest size it keeps down to this
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _image_size(content: bytes) -> tuple[int, int]:
    """An uploaded photo's width and height from its PNG or JPEG header, or what Telegram
    answers for a file it would not take as a photo."""
    if len(content) > MAX_PHOTO_BYTES:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    size = _png_size(content) or _jpeg_size(content)
    if size is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    width, height = size
    if width + height > MAX_PHOTO_SIDES or max(width, height) > MAX_PHOTO_RATIO * min(size):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return size


def _png_size(content: bytes) -> tuple[int, int] | None:
    if content[:8] != b"\x89PNG\r\n\x1a\n" or content[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return (width, height) if width and height else None


def _jpeg_size(content: bytes) -> tuple[int, int] | None:
    """The size in the first frame header (SOFn), walking the JPEG's segments."""
    if content[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 <= len(content) and content[at] == 0xFF:
        marker, length = content[at + 1], int.from_bytes(content[at + 2 : at + 4], "big")
        if marker in _JPEG_FRAMES:
            height = int.from_bytes(content[at + 5 : at + 7], "big")
            width = int.from_bytes(content[at + 7 : at + 9], "big")
            return (width, height) if width and height else None
        at += 2 + length
    return None


def _photo_sizes(file_id: str, width: int, height: int) -> list[dict[str, Any]]:
    """The PhotoSize list Telegram returns: smaller copies, then the largest it keeps
    (at most PHOTO_SIDE on its longer side), smallest first."""
    sizes = []
    for side in (320, 800, PHOTO_SIDE):
        scale = min(1.0, side / max(width, height))
        if scale == 1.0 and side != PHOTO_SIDE:
            continue
        sizes.append(
            {
                "file_id": file_id if side == PHOTO_SIDE else f"{file_id}_{side}",
                "file_unique_id": f"U{file_id}_{side}",
                "width": max(1, round(width * scale)),
                "height": max(1, round(height * scale)),
            }
        )
    return sizes


def _mime(filename: str) -> str:
    return {
        "json": "application/json",
        "txt": "text/plain",
        "csv": "text/csv",
        "pdf": "application/pdf",
    }.get(filename.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    return {
        k: ("<file>" if isinstance(v, dict) and "content" in v else v) for k, v in params.items()
    }
