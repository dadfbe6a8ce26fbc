"""A client blocking the bot, or coming back: what the bot may still send them follows it."""

from __future__ import annotations

from bot.services import Services
from storage import repo


async def set_blocked(services: Services, chat: int, blocked: bool) -> bool:
    """Mark the client of this private chat as having blocked the bot (or not): no prompt,
    tip or staff reply is tried while blocked. False: nobody known has this chat."""
    return await services.db.run(lambda s: repo.set_blocked(s, chat, blocked))
