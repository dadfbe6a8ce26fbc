"""The anchor: a bare python-telegram-bot that echoes each text message.

Sequential updates, no rate limiter, no database: what a PTB bot costs at the least.
Run as `python -m bench.echo_bot` with BOT_TOKEN and BOT_API_URL set.
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)  # type: ignore[union-attr]


def main() -> None:
    api = os.environ["BOT_API_URL"].rstrip("/")
    app = ApplicationBuilder().token(os.environ["BOT_TOKEN"]).base_url(f"{api}/bot").build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(allowed_updates=[Update.MESSAGE])


if __name__ == "__main__":
    main()
