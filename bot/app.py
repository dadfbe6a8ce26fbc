"""Build the PTB Application: handlers, error handler, jobs, command menu, outbound governor."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import presses
from bot.cases import membership
from bot.handlers import (
    broadcast,
    conversation,
    export,
    free_text,
    human,
    inbox,
    misc,
    privacy,
    progress,
    reminders,
    stats,
)
from bot.http import AiohttpRequest
from bot.jobs import schedule_jobs
from bot.outbound import Governor
from bot.processor import PerChatUpdateProcessor
from bot.services import BotContext, Services, services_of
from dialogs.render import environment

log = logging.getLogger(__name__)
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
]


def build_application(
    services: Services,
    governor: Governor | None = None,
    http: tuple[AiohttpRequest, AiohttpRequest] | None = None,
) -> Application:
    """The Application with every handler and job. `http` is the (general, getUpdates) pair
    of HTTP clients, passed in by a caller that must close them even if start-up fails."""
    settings = services.settings
    assert settings.token, "the caller checks BOT_TOKEN (or runs the sandbox with its own)"
    governor = governor or Governor(settings.send_rate)
    general, updates = http or new_http()
    application = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(f"{settings.bot_api_url}/bot")
        .base_file_url(f"{settings.bot_api_url}/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(governor)
        .concurrent_updates(PerChatUpdateProcessor(256))
        .context_types(ContextTypes(context=BotContext))
        .request(general)
        .get_updates_request(updates)
        .post_init(_post_init)
        .build()
    )
    application.bot_data["services"] = services

    async def mark_blocked(chat_id: int) -> None:
        await membership.set_blocked(services, chat_id, True)

    governor.on_blocked = mark_blocked
    _add_handlers(application, services)
    schedule_jobs(application)
    return application


def new_http() -> tuple[AiohttpRequest, AiohttpRequest]:
    """HTTP clients for Bot API calls and for long polling (PTB wants them apart)."""
    return AiohttpRequest(connection_pool_size=128), AiohttpRequest(connection_pool_size=2)


Command = Callable[[Update, BotContext], Coroutine[Any, Any, None]]  # a command's handler


def _add_handlers(app: Application, services: Services) -> None:
    private = filters.ChatType.PRIVATE
    new_message = private & filters.UpdateType.MESSAGE  # an edited "/start" is not a command
    commands: dict[str, Command] = {
        "start": conversation.on_start,
        "cancel": conversation.on_cancel,
        "help": misc.on_help,
        "human": free_text.on_human,
        "privacy": privacy.on_privacy,
        "mydata": privacy.on_mydata,
        "delete": privacy.on_delete,
        "stop_tips": privacy.on_stop_tips,
        "reminders": reminders.on_reminders,
        "progress": progress.on_progress,
        "start_tips": privacy.on_start_tips,
    }
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback, filters=new_message))
    # Staff commands exist only for STAFF_IDS: for anyone else they fall through to the
    # catch-all below and get the same answer as any unknown command.
    staff = filters.User(user_id=services.settings.staff_ids)
    staff_commands: dict[str, Command] = {
        "broadcast": broadcast.on_broadcast,
        "broadcasts": broadcast.on_broadcasts,
        "tips": broadcast.on_tips,
        "stats": stats.on_stats,
        "export": export.on_export,
    }
    for name, callback in staff_commands.items():
        app.add_handler(CommandHandler(name, callback, filters=new_message & staff))
    if services.settings.staff_chat_id is not None:
        # In the staff group too: the figures and the export (neither names a client; /inbox
        # below). Writing a tip is a private conversation with the bot: there, say so.
        group = filters.Chat(services.settings.staff_chat_id) & filters.UpdateType.MESSAGE
        for name in ("stats", "export"):
            app.add_handler(CommandHandler(name, staff_commands[name], filters=group & staff))
        tip_commands = ["broadcast", "broadcasts", "tips"]
        app.add_handler(CommandHandler(tip_commands, misc.in_private, filters=group & staff))
    # /id for setting up: anyone's own id in a private chat, a group's id in that group.
    id_chats = filters.UpdateType.MESSAGE & (private | filters.ChatType.GROUPS)
    app.add_handler(CommandHandler("id", misc.on_id, filters=id_chats))
    app.add_handler(CallbackQueryHandler(misc.reject_forged_presses), group=-1)
    # Before anything renders: the language this update is answered in.
    app.add_handler(TypeHandler(Update, misc.set_language), group=-3)
    app.add_handler(MessageHandler(private, misc.throttle_messages), group=-2)
    # A command ends the mode it ends (a reply from /inbox, a tip being written, the reminder
    # setup's question) before the command's own handler (group 0) runs: bot.modes.
    app.add_handler(
        MessageHandler(new_message & filters.COMMAND, free_text.end_mode_on_command), group=-1
    )
    # Every press, decoded once and handed to its kind's handler (bot.presses).
    app.add_handler(CallbackQueryHandler(presses.on_press))
    # /inbox also in the staff group, where the hand-offs are posted.
    inbox_chats: filters.BaseFilter = private
    if services.settings.staff_chat_id is not None:
        inbox_chats = private | filters.Chat(services.settings.staff_chat_id)
    inbox_filter = filters.UpdateType.MESSAGE & staff & inbox_chats
    app.add_handler(CommandHandler("inbox", inbox.on_inbox, filters=inbox_filter))
    if services.settings.staff_chat_id is not None:
        staff_chat = filters.Chat(services.settings.staff_chat_id)
        app.add_handler(
            MessageHandler(
                staff_chat
                & filters.UpdateType.MESSAGE  # an edited reply is not sent twice
                & filters.REPLY
                & filters.TEXT
                & ~filters.COMMAND,
                human.on_staff_reply,
            )
        )
    app.add_handler(ChatMemberHandler(misc.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    # Anything else a client sends or edits in the private chat: text, stickers, photos...
    app.add_handler(MessageHandler(private, free_text.on_free_text))
    app.add_error_handler(misc.on_error)


def command_menu(*, staff: bool = False) -> list[BotCommand]:
    """The command menu, with descriptions from `templates/commands.j2` (staff see theirs too)."""
    module = environment().get_template("commands.j2").module
    values = vars(module)  # a template's top-level values (Jinja2 types them as attributes)
    listed = values["commands"] + (values["staff_commands"] if staff else [])
    return [BotCommand(name, description) for name, description in listed]


async def _post_init(application: Application) -> None:
    await set_commands(application)
    if services_of(application).settings.staff_chat_id is None:
        log.warning("STAFF_CHAT_ID is not set: /human will point clients to the website instead")


async def set_commands(application: Application) -> None:
    """The command menus (`commands.j2`), for clients and for each staff member: at start
    and when the content is reloaded."""
    await application.bot.set_my_commands(command_menu())
    staff_ids = services_of(application).settings.staff_ids
    for number, staff_id in enumerate(staff_ids, 1):
        try:
            await application.bot.set_my_commands(
                command_menu(staff=True), scope=BotCommandScopeChat(staff_id)
            )
        except BadRequest as exc:  # a staff member who has not opened the bot yet
            # Which entry, not the id: the log keeps no one's Telegram id.
            log.warning(
                "no staff command menu yet for entry %d of %d in STAFF_IDS (%s): they have "
                "not opened a chat with the bot",
                number,
                len(staff_ids),
                exc.message,
            )
