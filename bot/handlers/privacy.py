"""/privacy, /mydata, /delete and the consent switches (/stop_tips, /start_tips)."""

from __future__ import annotations

import json

from telegram import InputFile, Update

from bot.handlers.common import chat_id, telegram_user
from bot.replies import markup
from bot.services import BotContext, Services
from dialogs.engine import Button
from dialogs.render import labels, render
from storage import repo
from storage.models import Client

EXPORT_NAME = "bodymechanix-my-data.json"


async def on_privacy(update: Update, context: BotContext) -> None:
    async with context.services.db.session() as session:
        client = await repo.get_client(session, telegram_user(update).id)
    await update.effective_message.reply_text(**_privacy(context.services, client))  # type: ignore[union-attr]


async def on_privacy_button(update: Update, context: BotContext) -> None:
    """p:h:0 / p:h:1 (health answers), p:t:0 / p:t:1 (tips)."""
    query = update.callback_query
    assert query is not None
    topic, agree = (query.data or "")[2:3], (query.data or "").endswith(":1")
    async with context.services.db.session() as session:
        client = await repo.get_client(session, telegram_user(update).id)
        current = None if client is None else {"h": client.health_consent, "t": client.tips_consent}
        if client is None or current is None or bool(current[topic]) == agree:
            await query.answer(labels.stale)  # deleted since, or already so: nothing to do
            return
        if topic == "t":
            await repo.set_tips_consent(session, client, agree)
        elif agree:
            await repo.give_health_consent(session, client)
        else:
            await repo.withdraw_health_consent(session, client)
    await query.answer(labels.done)
    await query.edit_message_text(**_privacy(context.services, client))


async def on_stop_tips(update: Update, context: BotContext) -> None:
    await _set_tips(update, context, False)


async def on_start_tips(update: Update, context: BotContext) -> None:
    await _set_tips(update, context, True)


async def _set_tips(update: Update, context: BotContext, agree: bool) -> None:
    async with context.services.db.session() as session:
        client = await repo.get_client(session, telegram_user(update).id)
        if client is not None and client.tips_consent != agree:
            await repo.set_tips_consent(session, client, agree)
    text = render("tips_switched", known=client is not None, agree=agree)
    await update.effective_message.reply_text(text)  # type: ignore[union-attr]


async def on_mydata(update: Update, context: BotContext) -> None:
    """Everything stored about the client, as a JSON file."""
    async with context.services.db.session() as session:
        client = await repo.get_client(session, telegram_user(update).id)
        data = await repo.export_client(session, client) if client else None
    if data is None:
        await update.effective_message.reply_text(render("no_data"))  # type: ignore[union-attr]
        return
    payload = json.dumps(data, indent=2, ensure_ascii=False).encode()
    await context.bot.send_document(
        chat_id(update),
        InputFile(payload, filename=EXPORT_NAME),
        caption=render("mydata_caption"),
    )


async def on_delete(update: Update, context: BotContext) -> None:
    async with context.services.db.session() as session:
        client = await repo.get_client(session, telegram_user(update).id)
    if client is None:
        await update.effective_message.reply_text(render("no_data"))  # type: ignore[union-attr]
        return
    buttons = (
        (Button(labels.delete_yes, f"d:y:{client.id}"),),
        (Button(labels.delete_no, "d:n"),),
    )
    await update.effective_message.reply_text(  # type: ignore[union-attr]
        render("delete_confirm"), reply_markup=markup(buttons)
    )


async def on_delete_button(update: Update, context: BotContext) -> None:
    """d:y:<client id> erases everything; d:n keeps it. The id makes an old button from
    before an earlier deletion stale."""
    query = update.callback_query
    assert query is not None
    if query.data == "d:n":
        await query.answer()
        await query.edit_message_text(render("delete_kept"))
        return
    async with context.services.db.session() as session:
        client = await repo.get_client(session, telegram_user(update).id)
        confirmed = client is not None and query.data == f"d:y:{client.id}"
        if confirmed:
            await repo.delete_client(session, client)  # type: ignore[arg-type]
    if not confirmed:
        await query.answer(labels.stale)
        return
    await query.answer(labels.done)
    await query.edit_message_text(render("deleted"))


def _privacy(services: Services, client: Client | None) -> dict[str, object]:
    buttons: tuple[tuple[Button, ...], ...] = ()
    if client is not None:
        health = (
            Button(labels.withdraw_health, "p:h:0")
            if client.health_consent
            else Button(labels.give_health, "p:h:1")
        )
        tips = (
            Button(labels.tips_off, "p:t:0")
            if client.tips_consent
            else Button(labels.tips_on, "p:t:1")
        )
        buttons = ((health,), (tips,))
    text = render(
        "privacy",
        client=client,
        retention_days=services.settings.retention_days,
        website=services.settings.clinic_website,
    )
    return {"text": text, "reply_markup": markup(buttons)}
