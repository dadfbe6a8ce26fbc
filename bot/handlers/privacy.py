"""/privacy, /mydata, /delete and the consent switches (/stop_tips, /start_tips): the
Telegram side (`bot.cases.privacy` decides)."""

from __future__ import annotations

from telegram import InputFile, Update

from bot.cases import privacy
from bot.cases.staff_posts import remove_posts
from bot.handlers.common import chat_id, message_of, telegram_user
from bot.replies import edit_pressed, markup
from bot.services import BotContext
from dialogs.presses import DeleteEverything, KeepData, SwitchConsent
from dialogs.render import labels, render


async def on_privacy(update: Update, context: BotContext) -> None:
    reply = await privacy.privacy(context.services, telegram_user(update).id)
    await message_of(update).reply_text(reply.text, reply_markup=markup(reply.buttons))


async def on_switch(update: Update, context: BotContext, press: SwitchConsent) -> None:
    """/privacy's buttons: give or withdraw consent for health answers or for tips."""
    query = update.callback_query
    assert query is not None
    switched = await privacy.switch_consent(
        context.services, telegram_user(update).id, press.topic, press.agree
    )
    if switched.client is None or not switched.changed:
        await query.answer(labels.stale)  # deleted since, or already so (an old button)
        return
    await query.answer(labels.done)
    reply = privacy.privacy_view(context.services, switched.client)
    await edit_pressed(query, reply.text, markup(reply.buttons))
    await remove_posts(context.bot, list(switched.details))  # health details shown to staff


async def on_stop_tips(update: Update, context: BotContext) -> None:
    await _set_tips(update, context, False)


async def on_start_tips(update: Update, context: BotContext) -> None:
    await _set_tips(update, context, True)


async def _set_tips(update: Update, context: BotContext, agree: bool) -> None:
    switched = await privacy.switch_consent(
        context.services, telegram_user(update).id, "tips", agree
    )
    text = render("tips_switched", known=switched.client is not None, agree=agree)
    await message_of(update).reply_text(text)


async def on_mydata(update: Update, context: BotContext) -> None:
    """Everything stored about the client: first in plain words (one or more messages),
    then as a JSON file."""
    found = await privacy.my_data(context.services, telegram_user(update).id)
    if found is None:
        await message_of(update).reply_text(render("no_data"))
        return
    for text in found.texts:
        await context.bot.send_message(chat_id(update), text)
    await context.bot.send_document(
        chat_id(update),
        InputFile(found.payload, filename=labels.export_file),
        caption=render("mydata_caption"),
    )


async def on_delete(update: Update, context: BotContext) -> None:
    reply = await privacy.offer_delete(context.services, telegram_user(update).id)
    await message_of(update).reply_text(reply.text, reply_markup=markup(reply.buttons))


async def on_delete_press(
    update: Update, context: BotContext, press: DeleteEverything | KeepData
) -> None:
    """Yes erases everything; no keeps it."""
    query = update.callback_query
    assert query is not None
    if isinstance(press, KeepData):
        await query.answer()
        await edit_pressed(query, render("delete_kept"))
        return
    user, chat = telegram_user(update).id, chat_id(update)
    erased = await privacy.erase(context.services, user, chat, press.client)
    if erased is None:
        await query.answer(labels.stale)
        return
    await query.answer(labels.done)  # before the posts go: that may take a while
    said = await privacy.remove_traces(context.bot, erased)
    await edit_pressed(query, said.text)  # said after the deletion, with what could not go
