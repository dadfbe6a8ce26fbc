"""Hand-off to a person at the clinic.

`/human` or the "talk to a therapist" button first asks the client, saying what would be
shared; the request is stored with the screening that text described, and "yes" posts exactly
that to the staff chat, once. Staff answer by replying to the post; the reply reaches the
client in the bot. For a week after, what the client writes is passed on the same way.
"""

from __future__ import annotations

import logging

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden, TelegramError

from bot.conversation import safety_of
from bot.handlers.common import backlog, chat_id, telegram_user
from bot.replies import edit_pressed, markup
from bot.services import BotContext, Services
from dialogs.awaiting import RELAY_WINDOW
from dialogs.emergency import Symptom
from dialogs.render import labels, render
from dialogs.replies import Button
from dialogs.safety import Safety, urgent_advice
from storage import repo
from storage.models import Client, Handoff, Screening, utcnow

log = logging.getLogger(__name__)
MAX_RELAYED = 3500  # characters of a passed-on message, leaving room for the frame


async def on_human(update: Update, context: BotContext) -> None:
    """/human: ask before anything is shared."""
    await update.effective_message.reply_text(**await _ask(context.services, update))  # type: ignore[union-attr]


async def on_human_button(update: Update, context: BotContext) -> None:
    """h:ask (the result's button), h:y:<request> (share), h:n:<request> (don't)."""
    query = update.callback_query
    assert query is not None
    services = context.services
    if query.data == "h:ask":
        await query.answer()
        await context.bot.send_message(chat_id(update), **await _ask(services, update))
        return
    _, answer, request_id = (query.data or "").split(":")
    user_id = telegram_user(update).id
    staff_chat = services.settings.staff_chat_id

    def take(session: Session) -> tuple[Handoff, str, Safety] | None:
        client = repo.active_client(session, user_id)
        handoff = repo.pending_handoff(session, client.id, int(request_id)) if client else None  # type: ignore[arg-type]
        if client is None or handoff is None:
            return None  # deleted since, or answered already (a second tap)
        safety = safety_of(client, services.questionnaire)
        if answer == "n" or staff_chat is None:
            handoff.status = "declined" if answer == "n" else "failed"
            return handoff, "", safety
        handoff.status = "sending"
        return handoff, _staff_summary(session, client, handoff, services), safety

    taken = await services.db.run(take)
    if taken is None:
        await query.answer(labels.stale)
        return
    await query.answer()
    handoff, summary, safety = taken
    handoff_id: int = handoff.id  # type: ignore[assignment]
    if answer == "n":
        await edit_pressed(query, render("handoff_declined"))
        return
    posted = None
    if staff_chat is not None:
        try:
            posted = await context.bot.send_message(staff_chat, summary)
        except TelegramError:
            log.exception("could not post a hand-off to the staff chat")
    if posted is None:
        await services.db.run(lambda s: repo.set_handoff_status(s, handoff_id, "failed"))
        await edit_pressed(query, **_unavailable(services, _urgent(safety)))
        return
    post = (posted.chat_id, posted.message_id)
    await services.db.run(lambda s: repo.set_handoff_status(s, handoff_id, "sent", post))
    await edit_pressed(query, render("handoff_sent", urgent=_urgent(safety)))


async def relay_to_staff(
    update: Update,
    context: BotContext,
    client: Client,
    handoff: Handoff,
    urgent: Symptom | None = None,
) -> None:
    """Pass a client's message on to the staff chat while a hand-off is open (a week after
    it). `urgent`: the message describes an emergency, so the post says so at its top."""
    services = context.services
    message = update.message
    staff_chat = services.settings.staff_chat_id
    assert message is not None, "only new messages are for the team (dialogs.awaiting)"
    more_coming = backlog(context, update) > 1  # a burst: one confirmation, after the last
    text = message.text or message.caption
    if staff_chat is None:  # the setting was removed since the hand-off
        urgent_advice = _urgent(safety_of(client, services.questionnaire))
        await message.reply_text(**_unavailable(services, urgent_advice))
        return
    if text is None:
        if not more_coming:
            await message.reply_text(render("relay_text_only"))
        return
    try:
        posted = await context.bot.send_message(
            staff_chat,
            render(
                "staff_relay",
                name=client.first_name,
                telegram_id=client.telegram_id,
                text=_clip(text),
                urgent=urgent.label if urgent else None,
            ),
            reply_to_message_id=handoff.staff_message_id,
            allow_sending_without_reply=True,
        )
    except TelegramError:
        log.exception("could not pass a client's message on to the staff chat")
        urgent_advice = _urgent(safety_of(client, services.questionnaire))
        await message.reply_text(**_unavailable(services, urgent_advice))
        return
    post = (posted.chat_id, posted.message_id)
    await services.db.run(lambda s: repo.record_relay(s, client.id, post))  # type: ignore[arg-type]
    if not more_coming:
        await message.reply_text(render("relay_sent", text_only=message.text is None))


async def on_staff_reply(update: Update, context: BotContext) -> None:
    """A reply in the staff chat to a hand-off (or a passed-on message) goes to that client."""
    message = update.message
    assert message is not None and message.reply_to_message is not None
    sender = message.from_user
    if (
        message.sender_chat is not None
        or sender is None
        or not context.services.is_staff(sender.id)
    ):
        # Only STAFF_IDS speak for the clinic: not any group member, not an anonymous admin.
        await message.reply_text(render("staff_only"))
        return
    chat, replied_to = message.chat_id, message.reply_to_message.message_id
    since = utcnow() - RELAY_WINDOW

    def find(session: Session) -> tuple[Client | None, bool]:
        client = repo.client_for_staff_message(session, chat, replied_to)
        return client, bool(client and repo.open_handoff(session, client.id, since))  # type: ignore[arg-type]

    client, is_open = await context.services.db.run(find)
    if client is None:
        await message.reply_text(render("staff_not_delivered", reason="unknown"))
        return
    if client.blocked or not is_open:
        reason = "blocked" if client.blocked else "closed"
        await message.reply_text(
            render("staff_not_delivered", reason=reason, days=RELAY_WINDOW.days)
        )
        return
    text = render("staff_reply", staff_name=sender.first_name, text=_clip(message.text or ""))
    try:
        await context.bot.send_message(client.chat_id, text)
    except Forbidden:
        await message.reply_text(render("staff_not_delivered", reason="blocked"))
        return
    delivered = await message.reply_text(render("staff_delivered", name=client.first_name))
    # Staff activity keeps the conversation open, and a reply to this confirmation reaches
    # the client too.
    post = (delivered.chat_id, delivered.message_id)
    await context.services.db.run(lambda s: repo.record_relay(s, client.id, post, "staff"))  # type: ignore[arg-type]


async def _ask(services: Services, update: Update) -> dict[str, object]:
    """The confirmation: what would be shared, with buttons naming this very request."""
    user_id = telegram_user(update).id
    staff_chat = services.settings.staff_chat_id

    def ask(session: Session) -> tuple[Handoff | None, Screening | None, Safety] | None:
        client = repo.active_client(session, user_id)
        if client is None:
            return None
        safety = safety_of(client, services.questionnaire)
        if staff_chat is None:
            return None, None, safety
        return (*repo.ask_handoff(session, client), safety)

    asked = await services.db.run(ask)
    if asked is None:
        return {"text": render("needs_start")}
    handoff, screening, safety = asked
    if handoff is None:  # no staff chat: the website instead, after any urgent advice
        return _unavailable(services, _urgent(safety))
    buttons = (
        (Button(labels.handoff_send, f"h:y:{handoff.id}"),),
        (Button(labels.handoff_cancel, f"h:n:{handoff.id}"),),
    )
    text = render(
        "handoff_confirm",
        has_screening=screening is not None,
        red_flag=bool(screening and screening.red_flag_tier),
        urgent=_urgent(safety),
    )
    return {"text": text, "reply_markup": markup(buttons)}


def _urgent(safety: Safety) -> str:
    """The urgent advice that stands first in hand-off messages to a held client."""
    return urgent_advice(safety) if safety.holds else ""


def _unavailable(services: Services, urgent: str = "") -> dict[str, object]:
    button = InlineKeyboardButton(labels.website, url=services.settings.clinic_website)
    return {
        "text": render("handoff_unavailable", urgent=urgent),
        "reply_markup": InlineKeyboardMarkup([[button]]),
    }


def _staff_summary(session: Session, client: Client, handoff: Handoff, services: Services) -> str:
    """What the staff chat sees: who, their safety status, and the screening the client
    agreed to share (pain, duration, spread, contraindications), written to staff."""
    screening = session.get(Screening, handoff.screening_id) if handoff.screening_id else None
    result = (screening.result or {}) if screening else {}
    answers = dict(repo.answer_pairs(session, screening.id)) if screening else {}  # type: ignore[arg-type]
    q = services.questionnaire
    finished = screening.finished_at if screening else None
    zone = services.settings.clinic_zone
    safety = safety_of(client, q)
    contra = [
        q.contraindications[o.contra].staff
        for qid, oid in answers.items()
        if qid in q.by_id and (o := q.by_id[qid].option(oid)) and o.contra
    ]
    return render(
        "staff_handoff",
        client=client,
        safety=safety,
        safety_since=safety.since.astimezone(zone) if safety.since else None,
        answers=answers,
        contra=contra,
        screening=screening,
        band=result.get("band"),
        signs=[(s, q.signs[s]) for s in result.get("signs", []) if s in q.signs],
        services=[q.services[s].name for s in result.get("services", []) if s in q.services],
        tier_c=[q.tier_c[r] for r in result.get("tier_c", []) if r in q.tier_c],
        finished=finished.astimezone(zone) if finished else None,
    )


def _clip(text: str) -> str:
    return text if len(text) <= MAX_RELAYED else text[:MAX_RELAYED] + "…"
