"""The anchor for broadcasts: what a PTB user would write, a plain loop through AIORateLimiter.

PTB's `AIORateLimiter()` with its default settings (30 requests a second overall, 20 a minute
per group, nothing per private chat, no retry after a 429), one queue for everything. When the
staff member (PLAIN_STAFF_ID) sends /broadcast, a background task goes through the recipients
one `await bot.send_message(...)` after another, the tip carrying an unsubscribe button, and
then reports "Report: sent X of N" to the staff member. Meanwhile the same Application answers
/start and /help with a short text (sequential updates, PTB's default).

Run as `python -m bench.plain_broadcast_bot` with BOT_TOKEN, BOT_API_URL, PLAIN_CHATS (a file
of `chat_id<TAB>first_name` lines), PLAIN_STAFF_ID and PLAIN_BUTTON (the button's text).
Needs `aiolimiter` (`python-telegram-bot[rate-limiter]`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    filters,
)

log = logging.getLogger(__name__)
TIP = "Hi {name}! Squeeze your glutes for 5 seconds, 10 times."
HELP = "I send the clinic's tips. /start to begin."


def read_chats(path: str) -> list[tuple[int, str]]:
    chats = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            chat_id, name = line.split("\t", 1)
            chats.append((int(chat_id), name))
    return chats


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(HELP)  # type: ignore[union-attr]


async def broadcast(application: Application, staff_id: int) -> None:
    """The plain loop: every recipient in turn, a failure logged and skipped."""
    bot = application.bot
    chats = read_chats(os.environ["PLAIN_CHATS"])
    button = InlineKeyboardButton(os.environ["PLAIN_BUTTON"], callback_data="t:off")
    markup = InlineKeyboardMarkup([[button]])
    sent = failed = 0
    for chat_id, name in chats:
        try:
            await bot.send_message(chat_id, TIP.format(name=name), reply_markup=markup)
            sent += 1
        except TelegramError as exc:
            failed += 1
            log.warning("tip to %s failed: %s", chat_id, exc)
    await bot.send_message(staff_id, f"Report: sent {sent} of {len(chats)}, failed {failed}")


async def on_broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    staff_id = update.effective_user.id  # type: ignore[union-attr]
    context.application.create_task(broadcast(context.application, staff_id))
    await update.effective_message.reply_text("Sending the tip.")  # type: ignore[union-attr]


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    api = os.environ["BOT_API_URL"].rstrip("/")
    app = (
        ApplicationBuilder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(f"{api}/bot")
        .rate_limiter(AIORateLimiter())
        .build()
    )
    staff = filters.User(user_id=int(os.environ["PLAIN_STAFF_ID"]))
    app.add_handler(CommandHandler("broadcast", on_broadcast, filters=staff))
    app.add_handler(CommandHandler(["start", "help"], on_help))
    app.run_polling(allowed_updates=[Update.MESSAGE])


if __name__ == "__main__":
    main()
