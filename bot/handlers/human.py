"""Hand-off to a person at the clinic.

`/human` or the "talk to a therapist" button asks the client first (what will be shared),
then posts a summary of their latest screening to the staff chat. Staff answer by replying
to that post; the reply reaches the client in the bot. For a week after a hand-off, text the
client writes outside a screening is passed on to the staff chat the same way.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden, TelegramError

from bot.handlers.common import chat_id, telegram_user
from bot.replies import markup
from bot.services import BotContext, Services
from dialogs.engine import Button
from dialogs.render import labels, render
from storage import repo
from storage.models import Client, Handoff, utcnow

log = logging.getLogger(__name__)
RELAY_WINDOW = timedelta(days=7)
MAX_RELAYED = 3500  # characters of a relayed message, leaving room for the frame


async def on_human(update: Update, context: BotContext) -> None:
    """/human: confirm before anything is shared."""
    await update.effective_message.reply_text(**await _confirmation(context.services, update))  # type: ignore[union-attr]


async def on_human_button(update: Update, context: BotContext) -> None:
    """h:ask (the result's button), h:yes (share), h:no (don't)."""
    query = update.callback_query
    assert query is not None and query.message is not None
    services = context.services
    if query.data == "h:ask":
        await query.answer()
        await context.bot.send_message(chat_id(update), **await _confirmation(services, update))
        return
    if query.data == "h:no":
        await query.answer()
        await query.edit_message_text(render("handoff_declined"))
        return
    user_id = telegram_user(update).id

    def summarise(session: Session) -> tuple[Client, str] | None:
        client = repo.get_client(session, user_id)
        return (client, _staff_summary(session, client, services)) if client else None

    found = await services.db.run(summarise)
    if found is None:
        await query.answer(labels.stale)
        return
    client, summary = found
    await query.answer()
    if services.settings.staff_chat_id is None:
        await query.edit_message_text(**_unavailable(services))
        return
    try:
        posted = await context.bot.send_message(services.settings.staff_chat_id, summary)
    except TelegramError:
        log.exception("could not post a hand-off to the staff chat")
        await query.edit_message_text(**_unavailable(services))
        return
    await services.db.run(
        lambda s: repo.create_handoff(s, client.id, posted.message_id, relay=False)  # type: ignore[arg-type]
    )
    await query.edit_message_text(render("handoff_sent"))


async def relay_to_staff(update: Update, context: BotContext) -> bool:
    """Pass a client's text on to the staff chat if a hand-off is open. True if passed on."""
    services = context.services
    message = update.message
    staff_chat = services.settings.staff_chat_id
    if message is None or staff_chat is None:
        return False
    user_id = telegram_user(update).id

    def open_handoff(session: Session) -> tuple[Client, Handoff] | None:
        client = repo.get_client(session, user_id)
        if client is None or client.stage != "idle":
            return None
        handoff = repo.latest_handoff(session, client.id)  # type: ignore[arg-type]
        if handoff is None or utcnow() - handoff.created_at > RELAY_WINDOW:
            return None
        return client, handoff

    found = await services.db.run(open_handoff)
    if found is None:
        return False
    client, handoff = found
    if not message.text:
        await message.reply_text(render("relay_text_only"))
        return True
    text = message.text if len(message.text) <= MAX_RELAYED else message.text[:MAX_RELAYED] + "…"
    posted = await context.bot.send_message(
        staff_chat,
        render("staff_relay", name=client.first_name, telegram_id=client.telegram_id, text=text),
        reply_to_message_id=handoff.staff_message_id,
        allow_sending_without_reply=True,
    )
    await services.db.run(
        lambda s: repo.create_handoff(s, client.id, posted.message_id, relay=True)  # type: ignore[arg-type]
    )
    await message.reply_text(render("relay_sent"))
    return True


async def on_staff_reply(update: Update, context: BotContext) -> None:
    """A reply in the staff chat to a hand-off (or a relayed message) goes to that client."""
    message = update.message
    assert message is not None and message.reply_to_message is not None
    replied_to = message.reply_to_message.message_id
    client = await context.services.db.run(lambda s: repo.client_for_staff_message(s, replied_to))
    if client is None:
        await message.reply_text(render("staff_not_delivered", reason="unknown"))
        return
    if client.blocked:
        await message.reply_text(render("staff_not_delivered", reason="blocked"))
        return
    text = message.text or ""
    text = text if len(text) <= MAX_RELAYED else text[:MAX_RELAYED] + "…"
    sender = message.from_user.first_name if message.from_user else ""
    try:
        await context.bot.send_message(
            client.chat_id, render("staff_reply", staff_name=sender, text=text)
        )
    except Forbidden:
        await message.reply_text(render("staff_not_delivered", reason="blocked"))
        return
    await message.reply_text(render("staff_delivered", name=client.first_name))


async def _confirmation(services: Services, update: Update) -> dict[str, object]:
    if services.settings.staff_chat_id is None:
        return _unavailable(services)
    user_id = telegram_user(update).id

    def latest(session: Session) -> tuple[bool, bool] | None:
        client = repo.get_client(session, user_id)
        if client is None:
            return None
        screening = repo.latest_finished_screening(session, client.id)  # type: ignore[arg-type]
        return screening is not None, bool(screening and screening.red_flag_tier)

    found = await services.db.run(latest)
    if found is None:
        return {"text": render("handoff_needs_start")}
    has_screening, red_flag = found
    buttons = (
        (Button(labels.handoff_send, "h:yes"),),
        (Button(labels.handoff_cancel, "h:no"),),
    )
    text = render("handoff_confirm", has_screening=has_screening, red_flag=red_flag)
    return {"text": text, "reply_markup": markup(buttons)}


def _unavailable(services: Services) -> dict[str, object]:
    button = InlineKeyboardButton(labels.website, url=services.settings.clinic_website)
    return {
        "text": render("handoff_unavailable"),
        "reply_markup": InlineKeyboardMarkup([[button]]),
    }


def _staff_summary(session: Session, client: Client, services: Services) -> str:
    """What the staff chat sees: who, where from, and the latest screening's findings."""
    latest = repo.latest_finished_screening(session, client.id)  # type: ignore[arg-type]
    result = (latest.result or {}) if latest else {}
    q = services.questionnaire
    return render(
        "staff_handoff",
        client=client,
        screening=latest,
        band=result.get("band"),
        signs=[q.signs[s] for s in result.get("signs", []) if s in q.signs],
        services=[q.services[s].name for s in result.get("services", []) if s in q.services],
        tier_c=[q.tier_c[r] for r in result.get("tier_c", []) if r in q.tier_c],
        finished_on=_local_date(latest.finished_at, services) if latest else None,
    )


def _local_date(moment: datetime | None, services: Services) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(services.settings.clinic_timezone)).strftime("%d %b %Y")
