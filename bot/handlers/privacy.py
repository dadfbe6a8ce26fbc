"""/privacy, /mydata, /delete and the consent switches (/stop_tips, /start_tips)."""

from __future__ import annotations

import json

from sqlmodel import Session
from telegram import InputFile, Update

from bot.conversation import checked_of, safety_of
from bot.handlers.common import chat_id, telegram_user
from bot.handlers.inbox import tell_reply_gone
from bot.replies import edit_pressed, markup
from bot.services import BotContext, Services
from bot.staff_posts import remove_posts
from dialogs import mydata
from dialogs.presses import DeleteEverything, KeepData, SwitchConsent
from dialogs.render import labels, render
from dialogs.replies import Button
from dialogs.statuses import PostKind, Stage
from storage import inbox, repo
from storage import progress as checkins
from storage.models import Client


async def on_privacy(update: Update, context: BotContext) -> None:
    client = await _client(context, update)
    await update.effective_message.reply_text(**_privacy(context.services, client))  # type: ignore[union-attr]


async def on_switch(update: Update, context: BotContext, press: SwitchConsent) -> None:
    """/privacy's buttons: give or withdraw consent for health answers or for tips."""
    query = update.callback_query
    assert query is not None
    topic, agree = press.topic, press.agree
    client, changed = await switch_consent(context, update, topic, agree)
    if client is None or not changed:
        await query.answer(labels.stale)  # deleted since, or already so (an old button)
        return
    await query.answer(labels.done)
    await edit_pressed(query, **_privacy(context.services, client))  # type: ignore[arg-type]
    if topic == "health" and not agree:  # health details shown to staff go too
        client_id: int = client.id  # type: ignore[assignment]
        posts = await context.services.db.run(
            lambda s: repo.staff_posts(s, client_id, (PostKind.DETAIL,))
        )
        await remove_posts(context.bot, posts)


async def on_stop_tips(update: Update, context: BotContext) -> None:
    await _set_tips(update, context, False)


async def on_start_tips(update: Update, context: BotContext) -> None:
    await _set_tips(update, context, True)


async def _set_tips(update: Update, context: BotContext, agree: bool) -> None:
    client, _ = await switch_consent(context, update, "tips", agree)
    text = render("tips_switched", known=client is not None, agree=agree)
    await update.effective_message.reply_text(text)  # type: ignore[union-attr]


async def on_mydata(update: Update, context: BotContext) -> None:
    """Everything stored about the client: first in plain words (one or more messages),
    then as a JSON file."""
    user_id = telegram_user(update).id
    services = context.services

    def export(session: Session) -> tuple[dict[str, object], mydata.Facts] | None:
        client = repo.active_client(session, user_id)
        if client is None:
            return None
        return repo.export_client(session, client), _facts(session, client, services)

    found = await services.db.run(export)
    if found is None:
        await update.effective_message.reply_text(render("no_data"))  # type: ignore[union-attr]
        return
    data, facts = found
    for text in mydata.summary(facts, services.questionnaire, services.settings.clinic_zone):
        await context.bot.send_message(chat_id(update), text)
    payload = json.dumps(data, indent=2, ensure_ascii=False).encode()
    await context.bot.send_document(
        chat_id(update),
        InputFile(payload, filename=labels.export_file),
        caption=render("mydata_caption"),
    )


def _facts(session: Session, client: Client, services: Services) -> mydata.Facts:
    """What /mydata words, read from the client's rows."""
    client_id: int = client.id  # type: ignore[assignment]
    check = None
    latest = repo.latest_finished_screening(session, client_id)
    if latest is not None:
        check = mydata.Check(
            status=latest.status,
            finished_at=latest.finished_at,
            answers=repo.answer_pairs(session, latest.id),  # type: ignore[arg-type]
            result=latest.result,
            tier=latest.red_flag_tier,
        )
    found = repo.conversation(session, client.telegram_id)
    answered = len(found.answers) if found and found.screening else None
    row = repo.reminder_plan(session, client_id)
    plan = None
    if row is not None:
        plan = mydata.Plan(
            status=row.status,
            days=row.days,
            start_minute=row.start_minute,
            end_minute=row.end_minute,
            interval_seconds=row.interval_seconds,
            timezone=row.timezone,
        )
    return mydata.Facts(
        first_name=client.first_name,
        username=client.username,
        since=client.created_at,
        source=client.source,
        health_consent=client.health_consent,
        health_consent_at=client.health_consent_at,
        tips_consent=client.tips_consent,
        tips_consent_at=client.tips_consent_at,
        safety=safety_of(client, services),
        safety_cleared_at=client.safety_cleared_at,
        checked=checked_of(client, services),
        check=check,
        answered_now=answered if client.stage == Stage.SCREENING else None,
        plan=plan,
        handoffs=repo.handoff_count(session, client_id),
        checkins=tuple(checkins.to_checkin(c) for c in checkins.all_checkins(session, client_id)),
    )


async def on_delete(update: Update, context: BotContext) -> None:
    client = await _client(context, update)
    if client is None:
        await update.effective_message.reply_text(render("no_data"))  # type: ignore[union-attr]
        return
    buttons = (
        (Button(labels.delete_yes, DeleteEverything(client.id)),),  # type: ignore[arg-type]
        (Button(labels.delete_no, KeepData()),),
    )
    await update.effective_message.reply_text(  # type: ignore[union-attr]
        render("delete_confirm"), reply_markup=markup(buttons)
    )


async def on_delete_press(
    update: Update, context: BotContext, press: DeleteEverything | KeepData
) -> None:
    """Yes erases everything; no keeps it. The client's id in the button makes an old one
    from before an earlier deletion stale."""
    query = update.callback_query
    assert query is not None
    if isinstance(press, KeepData):
        await query.answer()
        await edit_pressed(query, render("delete_kept"))
        return
    user_id = telegram_user(update).id

    def erase(session: Session) -> tuple[list[tuple[int, int]], list[int], str] | None:
        client = repo.get_client(session, user_id)
        if client is None or press.client != client.id:
            return None
        posts = repo.staff_posts(session, client.id)  # type: ignore[arg-type]
        replying = inbox.writing_to(session, client.id)  # type: ignore[arg-type]
        name = client.first_name
        repo.delete_client(session, client)
        return posts, replying, name

    erased = await context.services.db.run(erase)
    if erased is None:
        await query.answer(labels.stale)
        return
    posts, replying, name = erased
    # Words to the team still waiting to be merged into one post (a couple of seconds) go too.
    context.services.relay_bursts.pop(chat_id(update), None)
    await query.answer(labels.done)
    # Staff writing a reply to them from /inbox: it can't go (their reply row went too).
    await tell_reply_gone(context.bot, replying, name)
    kept = await remove_posts(context.bot, posts)
    # Said after the deletion, including what could not be removed.
    await edit_pressed(query, render("deleted", removed=len(posts) - len(kept), kept=len(kept)))


async def _client(context: BotContext, update: Update) -> Client | None:
    user_id = telegram_user(update).id
    return await context.services.db.run(lambda s: repo.active_client(s, user_id))


async def switch_consent(
    context: BotContext, update: Update, topic: str, agree: bool
) -> tuple[Client | None, bool]:
    """Set one consent ("health" or "tips"). Returns the client and whether it changed."""
    user_id = telegram_user(update).id

    def switch(session: Session) -> tuple[Client | None, bool]:
        client = repo.active_client(session, user_id)
        if client is None:
            return None, False
        current = client.health_consent if topic == "health" else client.tips_consent
        if bool(current) == agree:
            return client, False
        if topic == "tips":
            repo.set_tips_consent(session, client, agree)
        elif agree:
            repo.give_health_consent(session, client)
        else:
            repo.withdraw_health_consent(session, client)
        return client, True

    return await context.services.db.run(switch)


def _privacy(services: Services, client: Client | None) -> dict[str, object]:
    buttons: tuple[tuple[Button, ...], ...] = ()
    if client is not None:
        health = (
            Button(labels.withdraw_health, SwitchConsent("health", False))
            if client.health_consent
            else Button(labels.give_health, SwitchConsent("health", True))
        )
        tips = (
            Button(labels.tips_off, SwitchConsent("tips", False))
            if client.tips_consent
            else Button(labels.tips_on, SwitchConsent("tips", True))
        )
        buttons = ((health,), (tips,))
    text = render(
        "privacy",
        client=client,
        safety_since=safety_of(client, services).since if client else None,
        retention_days=services.settings.retention_days,
        website=services.settings.clinic_website,
    )
    return {"text": text, "reply_markup": markup(buttons)}
