"""Hand-off to a person at the clinic.

`/human` or the "talk to a therapist" button first asks the client, saying what would be
shared; the request is stored with the screening that text described, and "yes" posts exactly
that to the staff chat, once. Staff answer by replying to the post; the reply reaches the
client in the bot. For a week after, what the client writes is passed on the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import Forbidden, TelegramError

from bot.conversation import safety_of
from bot.handlers.common import backlog, chat_id, telegram_user
from bot.replies import edit_pressed, markup
from bot.services import BotContext, Services
from bot.staff_posts import keep_post, post_note, remove_posts
from dialogs.awaiting import RELAY_WINDOW
from dialogs.emergency import Findings, Symptom, scan
from dialogs.events import DoctorChecked, TalkToStaff
from dialogs.inbox import after_hours
from dialogs.long_text import in_parts
from dialogs.presses import CloseConversation, DeclineRequest, ShareRequest, ShowDetails
from dialogs.render import labels, render
from dialogs.replies import Button
from dialogs.safety import Safety, urgent_advice
from dialogs.statuses import HandoffStatus, PlanStatus, PostKind, Urgent
from storage import inbox, repo
from storage.models import Client, Handoff, Screening
from storage.repo import TelegramUser

log = logging.getLogger(__name__)
RELAY_MERGE = timedelta(seconds=2)  # a client's messages this close together are one post
MAX_RELAYED = 3500  # characters of a reply's copy for colleagues, leaving room for the frame


async def ask_hand_off(update: Update, context: BotContext, words: str = "") -> None:
    """/human (with any words after it, which go to the team with the request): ask before
    anything is shared."""
    await update.effective_message.reply_text(**await _ask(context.services, update, words))  # type: ignore[union-attr]


async def on_talk_to_staff(update: Update, context: BotContext, _: TalkToStaff) -> None:
    """ "Talk to a therapist": the confirmation, as /human asks it."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await context.bot.send_message(chat_id(update), **await _ask(context.services, update))


async def on_request_answer(
    update: Update, context: BotContext, press: ShareRequest | DeclineRequest
) -> None:
    """Yes (share this very request) or not now, under the confirmation."""
    query = update.callback_query
    assert query is not None
    services = context.services
    answer, request_id = ("y" if isinstance(press, ShareRequest) else "n"), press.request
    user_id = telegram_user(update).id
    staff_chat = services.settings.staff_chat_id

    def take(session: Session) -> tuple[Handoff, str, Safety] | None:
        client = repo.active_client(session, user_id)
        handoff = repo.pending_handoff(session, client.id, request_id) if client else None  # type: ignore[arg-type]
        if client is None or handoff is None:
            return None  # deleted since, or answered already (a second tap)
        safety = safety_of(client, services)
        if answer == "n" or staff_chat is None:
            handoff.status = HandoffStatus.DECLINED if answer == "n" else HandoffStatus.FAILED
            handoff.words = None  # not shared: not kept
            return handoff, "", safety
        handoff.status = HandoffStatus.SENDING
        shared_hold = safety.holds and handoff.screening_id is not None
        return handoff, render("staff_handoff_post", client=client, urgent=shared_hold), safety

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
        buttons = (
            (Button(labels.handoff_details, ShowDetails(handoff_id)),),
            (Button(labels.handoff_close, CloseConversation(handoff_id)),),
        )
        try:
            posted = await context.bot.send_message(
                staff_chat, summary, reply_markup=markup(buttons)
            )
        except TelegramError:
            log.exception("could not post a hand-off to the staff chat")
    if posted is None:
        await services.db.run(
            lambda s: repo.set_handoff_status(s, handoff_id, HandoffStatus.FAILED)
        )
        await edit_pressed(query, **_unavailable(services, _urgent(safety)))
        return
    post, now = (posted.chat_id, posted.message_id), services.clock()

    def sent(session: Session) -> tuple[datetime | None, Client | None, Handoff | None]:
        told_at = repo.last_to_team(session, handoff.client_id)
        inbox.carry_take(session, handoff_id, now)
        repo.set_handoff_status(session, handoff_id, HandoffStatus.SENT, post, now)
        return told_at, session.get(Client, handoff.client_id), session.get(Handoff, handoff_id)

    told_at, client, request = await services.db.run(sent)
    if client is not None and request is not None and request.words:  # what came with /human
        found = scan(request.words, services.phrases)
        flags = [flag for flag in (found.crisis, found.symptom) if flag is not None]
        await post_words(context, client, request, request.words, flags)
        await services.db.run(lambda s: repo.forget_words(s, handoff_id))
    closed = after_hours(services.settings.opening_hours, now, told_at)
    await edit_pressed(query, render("handoff_sent", urgent=_urgent(safety), after_hours=closed))


async def alert_crisis(
    context: BotContext, user: TelegramUser, chat: int
) -> tuple[Client, Handoff] | None:
    """Crisis words from a client not talking to the team: an urgent post in the staff chat
    that opens a conversation (an urgent request, first in /inbox), so a person can write to
    them and what they write reaches the team. None if there is no staff chat, the post
    failed, or the client erased their data meanwhile. The client is told, in the crisis
    answer; their words follow under the post (`relay_to_staff`)."""
    services = context.services
    staff_chat = services.settings.staff_chat_id
    if staff_chat is None:
        return None
    now = services.clock()

    def open_request(session: Session) -> tuple[Client, Handoff]:
        client = repo.active_client(session, user.id) or repo.create_client(
            session, user, chat, None
        )
        request = Handoff(
            client_id=client.id, status=HandoffStatus.SENDING, urgent=Urgent.CRISIS, created_at=now
        )  # type: ignore[arg-type]
        session.add(request)
        plan = repo.reminder_plan(session, client.id)  # type: ignore[arg-type]
        if plan is not None and plan.status == PlanStatus.SETUP:
            plan.step = None  # what they write next is for the team, not a setup question
        session.flush()
        return client, request

    client, request = await services.db.run(open_request)
    client_id, request_id = client.id, request.id
    close = ((Button(labels.handoff_close, CloseConversation(request_id)),),)
    try:
        posted = await context.bot.send_message(
            staff_chat, render("staff_crisis_alert", client=client), reply_markup=markup(close)
        )
    except TelegramError:
        log.exception("could not alert the staff chat to crisis words")
        await services.db.run(
            lambda s: repo.set_handoff_status(s, request_id, HandoffStatus.FAILED)
        )
        return None
    post = (posted.chat_id, posted.message_id)

    def sent(session: Session) -> tuple[Client, Handoff] | None:
        client, request = session.get(Client, client_id), session.get(Handoff, request_id)
        if client is None or request is None:
            return None  # erased their data while the post was on its way
        inbox.carry_take(session, request_id, now)
        repo.set_handoff_status(session, request_id, HandoffStatus.SENT, post, now)
        return client, request

    opened = await services.db.run(sent)
    if opened is None:
        await remove_posts(context.bot, [post])
    return opened


async def relay_to_staff(
    update: Update,
    context: BotContext,
    client: Client,
    handoff: Handoff,
    found: Findings | None = None,
    *,
    confirm: bool = True,
) -> None:
    """Pass a client's message on to the staff chat while a hand-off is open (a week after
    it). `found`: crisis words or a red flag in it, marked at the post's top. `confirm`: tell
    the client it was passed on (not for the words an alert to the team was made of: the
    crisis answer has just said so)."""
    services = context.services
    message = update.message
    staff_chat = services.settings.staff_chat_id
    assert message is not None, "only new messages are for the team (dialogs.awaiting)"
    text = message.text or message.caption
    if staff_chat is None:  # the setting was removed since the hand-off
        urgent_advice = _urgent(safety_of(client, services))
        await message.reply_text(**_unavailable(services, urgent_advice))
        return
    burst = services.relay_bursts.get(message.chat_id)
    if text is None and burst is not None:  # said with the words it follows: "the text only"
        burst.text_only = True
        return
    if text is None:
        if backlog(context, update) <= 1:  # a burst of stickers: one answer, after the last
            await message.reply_text(render("relay_text_only"))
        return
    # What the client writes within a few seconds is merged into one post (the throttle caps
    # how much a minute can hold); an emergency anywhere in it marks the whole post.
    if burst is None:
        burst = services.relay_bursts[message.chat_id] = RelayBurst(client, handoff)
        context.application.create_task(_flush_later(context, message.chat_id))
    burst.parts.append(text)
    flags = (found.crisis, found.symptom) if found else ()
    burst.flags += [flag for flag in flags if flag is not None and flag not in burst.flags]
    burst.text_only = burst.text_only or message.text is None
    burst.confirm = burst.confirm or confirm


@dataclass
class RelayBurst:
    """A client's messages to the team, waiting to be posted as one."""

    client: Client
    handoff: Handoff
    parts: list[str] = field(default_factory=list)
    flags: list[Symptom] = field(default_factory=list)  # crisis words, red flags, in order
    text_only: bool = False  # a photo (its caption taken, or none) or a sticker was left out
    confirm: bool = False  # tell the client it was passed on


async def _flush_later(context: BotContext, chat: int) -> None:
    """Post a chat's waiting messages to the team as one, RELAY_MERGE seconds after the first,
    and confirm once."""
    await asyncio.sleep(RELAY_MERGE.total_seconds())
    services = context.services
    burst = services.relay_bursts.pop(chat, None)
    staff_chat = services.settings.staff_chat_id
    if burst is None or staff_chat is None:
        return
    client = burst.client
    told_at = await services.db.run(lambda s: repo.last_to_team(s, client.id))  # type: ignore[arg-type]
    now = await post_words(context, client, burst.handoff, "\n\n".join(burst.parts), burst.flags)
    if now is None or not burst.confirm:
        return
    # When the clinic is closed, said with the first message of the night only.
    closed = after_hours(services.settings.opening_hours, now, told_at)
    await context.bot.send_message(
        chat, render("relay_sent", text_only=burst.text_only, after_hours=closed)
    )


async def post_words(
    context: BotContext, client: Client, request: Handoff, text: str, flags: list[Symptom]
) -> datetime | None:
    """A client's words, under their request in the staff chat, marked with what they speak
    of (crisis words, red flags). Too long for one post, they go as several, every one kept
    like a single post (a reply to any reaches the client; /delete removes them all). When the
    last went (the bot's clock), or None: not all reached the team (the client is told, so
    they do not think it was read) or the client erased their data meanwhile."""
    services = context.services
    staff_chat = request.staff_chat_id or services.settings.staff_chat_id
    assert staff_chat is not None

    def frame(part_text: str, part: int, parts: int) -> str:
        return render(
            "staff_relay",
            name=client.first_name,
            telegram_id=client.telegram_id,
            text=part_text,
            flags=flags if part == 1 else [],
            part=part,
            parts=parts,
        )

    now = services.clock()
    for post_text in in_parts(text, frame):
        try:
            posted = await context.bot.send_message(
                staff_chat,
                post_text,
                reply_to_message_id=request.staff_message_id,
                allow_sending_without_reply=True,
            )
        except TelegramError:
            log.exception("could not pass a client's message on to the staff chat")
            urgent_advice = _urgent(safety_of(client, services))
            await context.bot.send_message(client.chat_id, **_unavailable(services, urgent_advice))
            return None
        now = services.clock()
        post = (posted.chat_id, posted.message_id)
        if not await keep_post(context.bot, services, client.id, post, PostKind.RELAY, now):  # type: ignore[arg-type]
            return None  # they erased their data meanwhile: the post went, and nothing is said
    return now


async def tell_team_lifted(
    context: BotContext, telegram_id: int, hold: Safety, checked: DoctorChecked
) -> None:
    """A held client says a doctor has checked them: if the team heard of the hold (a request
    or a message reached them since it began), a note under the client's request says who
    checked them and when, and that the bot's hold is lifted. Otherwise nothing: the team is
    told only what the client chose to share."""
    services = context.services

    def find(session: Session) -> tuple[Client, Handoff] | None:
        client = repo.get_client(session, telegram_id)
        request = inbox.request_post(session, client.id) if client else None  # type: ignore[arg-type]
        since = hold.since
        if client is None or request is None or since is None:
            return None
        reached = repo.last_to_team(session, client.id)  # type: ignore[arg-type]
        return (client, request) if reached is not None and reached >= since else None

    found = await services.db.run(find)
    if found is None:
        return
    client, request = found
    text = render(
        "staff_hold_lifted",
        name=client.first_name,
        by=checked.by,
        when=checked.when,
        tier=hold.tier,
    )
    await post_note(context.bot, services, request, text)


async def on_details(update: Update, context: BotContext, press: ShowDetails) -> None:
    """The health details a client agreed to share, shown to staff on demand as a reply that
    the bot removes after DETAILS_SHOWN (well inside the 48 hours Telegram lets a bot delete
    its posts), so no health detail lives on in the group."""
    query = update.callback_query
    assert query is not None and query.message is not None
    services = context.services
    request_id = press.request

    def details(session: Session) -> tuple[int, str] | None:
        request = session.get(Handoff, request_id)
        client = session.get(Client, request.client_id) if request else None
        if request is None or client is None or request.kind != PostKind.REQUEST:
            return None
        if request.status not in (HandoffStatus.SENT, HandoffStatus.CLOSED):
            return None  # the client declined (or it never went): nothing was shared
        return client.id, _staff_summary(session, client, request, services)  # type: ignore[return-value]

    found = await services.db.run(details)
    if found is None:
        await query.answer(labels.stale)
        return
    client_id, summary = found
    await query.answer(labels.handoff_details_shown)
    shown = await context.bot.send_message(
        query.message.chat.id, summary, reply_to_message_id=query.message.message_id
    )
    await keep_post(
        context.bot, services, client_id, (shown.chat_id, shown.message_id), PostKind.DETAIL
    )


async def on_close(update: Update, context: BotContext, press: CloseConversation) -> None:
    """A staff member closes the conversation; the client is told how to open a new one."""
    query = update.callback_query
    assert query is not None
    closed = await close_request(context, press.request, query.from_user.first_name)
    await query.answer(labels.handoff_closed if closed else labels.stale)


async def close_request(context: BotContext, request_id: int, staff_name: str) -> bool:
    """Close a client's conversation (the post's button, or /inbox): the post in the staff
    chat loses its buttons and gets a note naming who closed it, and the client is told.
    False if it was closed already (by someone else a moment ago, or the client left)."""

    now = context.services.clock()

    def close(session: Session) -> tuple[Client, Handoff] | None:
        request = session.get(Handoff, request_id)
        client = repo.close_conversation(session, request_id, now)
        if request is None or client is None:
            return None
        return client, request

    closed = await context.services.db.run(close)
    if closed is None:
        return False
    client, request = closed
    # It is closed now, whatever Telegram says next: the press is answered either way.
    chat, message_id = request.staff_chat_id, request.staff_message_id
    if chat is not None and message_id is not None:
        with contextlib.suppress(TelegramError):  # the post stays; its buttons go
            await context.bot.edit_message_reply_markup(chat, message_id, reply_markup=None)
        closing = render("staff_closed", name=client.first_name, staff_name=staff_name)
        await post_note(context.bot, context.services, request, closing)
    try:
        await context.bot.send_message(client.chat_id, render("handoff_closed"))
    except Forbidden:
        pass  # they blocked the bot: nothing to tell
    except TelegramError:
        log.exception("could not tell a client their conversation was closed")
    return True


async def on_staff_reply(update: Update, context: BotContext) -> None:
    """A reply in the staff chat to a client's request or to their words passed on goes to
    that client. A reply to another of the bot's posts about them (a note, a receipt, the
    health details) stays in the team, and the staff member is told so; so does any reply
    that starts with "note:". Replies to each other are the team's own conversation."""
    message = update.message
    assert message is not None and message.reply_to_message is not None
    replied = message.reply_to_message
    if replied.from_user is None or replied.from_user.id != context.bot.id:
        return  # colleagues talking among themselves
    sender = message.from_user
    if (
        message.sender_chat is not None
        or sender is None
        or not context.services.is_staff(sender.id)
    ):
        # Only STAFF_IDS speak for the clinic: not any group member, not an anonymous admin.
        await message.reply_text(render("staff_only"))
        return
    if team_note(message.text or ""):
        return  # a note for colleagues, under the client's post: never sent
    chat, replied_to = message.chat_id, replied.message_id
    kind, client = await context.services.db.run(lambda s: repo.post_about(s, chat, replied_to))
    if kind is not None and kind not in repo.REPLY_TARGETS:
        await message.reply_text(render("staff_not_a_target"))
        return
    await deliver_staff_reply(context, message, client)


def team_note(text: str) -> bool:
    """A staff reply meant for colleagues only ("note: ...", "#note ...")."""
    return text.lstrip().casefold().startswith(("note:", "#note"))


async def deliver_staff_reply(context: BotContext, message: Message, client: Client | None) -> bool:
    """A staff member's text to a client (a reply in the staff chat, or from /inbox), if the
    conversation is still open; the staff member is told either way. True if delivered."""
    sender = message.from_user
    assert sender is not None
    now = context.services.clock()
    if client is None:
        await message.reply_text(render("staff_not_delivered", reason="unknown"))
        return False
    client_id: int = client.id  # type: ignore[assignment]

    def why_not(session: Session) -> str | None:
        if repo.open_handoff(session, client_id, now - RELAY_WINDOW) is not None:
            return None
        return "closed" if repo.closed_by_staff(session, client_id) else "expired"

    reason = "blocked" if client.blocked else await context.services.db.run(why_not)
    if reason is not None:
        await message.reply_text(
            render("staff_not_delivered", reason=reason, days=RELAY_WINDOW.days)
        )
        return False

    def frame(text: str, part: int, parts: int) -> str:
        return render(
            "staff_reply", staff_name=sender.first_name, text=text, part=part, parts=parts
        )

    # The framing may push even one Telegram message over the limit: then it goes in parts.
    for reply_text in in_parts(message.text or "", frame):
        try:
            await context.bot.send_message(client.chat_id, reply_text)
        except Forbidden:
            await message.reply_text(render("staff_not_delivered", reason="blocked"))
            return False
    delivered = await message.reply_text(render("staff_delivered", name=client.first_name))
    # Staff activity keeps the conversation open and stops the inbox's alert (stamped with the
    # bot's clock); the confirmation is the team's note (a reply to it is not sent).
    post = (delivered.chat_id, delivered.message_id)
    await keep_post(context.bot, context.services, client_id, post, PostKind.STAFF, now)
    await context.services.db.run(  # answering is taking: the inbox shows who has it
        lambda s: inbox.take_by_reply(s, client_id, sender.id, sender.first_name, now)
    )
    return True


async def _ask(services: Services, update: Update, words: str = "") -> dict[str, object]:
    """The confirmation: what would be shared (and the client's own words, if they wrote some
    with /human), with buttons naming this very request."""
    user_id = telegram_user(update).id
    staff_chat = services.settings.staff_chat_id

    def ask(session: Session) -> tuple[Handoff | None, Screening | None, Safety] | None:
        client = repo.active_client(session, user_id)
        if client is None:
            return None
        safety = safety_of(client, services)
        if staff_chat is None:
            return None, None, safety
        return (*repo.ask_handoff(session, client, services.clock(), words or None), safety)

    asked = await services.db.run(ask)
    if asked is None:
        return {"text": render("needs_start")}
    handoff, screening, safety = asked
    if handoff is None:  # no staff chat: the website instead, after any urgent advice
        return _unavailable(services, _urgent(safety))
    buttons = (
        (Button(labels.handoff_send, ShareRequest(handoff.id)),),  # type: ignore[arg-type]
        (Button(labels.handoff_cancel, DeclineRequest(handoff.id)),),  # type: ignore[arg-type]
    )
    text = render(
        "handoff_confirm",
        has_screening=screening is not None,
        red_flag=bool(screening and screening.red_flag_tier),
        urgent=_urgent(safety),
        words=words,
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
    safety = safety_of(client, services)
    contra = [
        q.contraindications[o.contra].staff
        for qid, oid in answers.items()
        if qid in q.by_id and (o := q.by_id[qid].option(oid)) and o.contra
    ]
    return render(
        "staff_handoff",
        client=client,
        safety=safety,
        answers=answers,
        contra=contra,
        screening=screening,
        band=result.get("band"),
        signs=[(s, q.signs[s]) for s in result.get("signs", []) if s in q.signs],
        services=[q.services[s].name for s in result.get("services", []) if s in q.services],
        tier_c=[q.tier_c[r] for r in result.get("tier_c", []) if r in q.tier_c],
        finished=finished.astimezone(zone) if finished else None,
        cleared=client.safety_cleared_at.astimezone(zone) if client.safety_cleared_at else None,
    )


def clip(text: str) -> str:
    """A staff reply cut to MAX_RELAYED for its copy in the staff group (/inbox), so the post
    framing it fits in a message. Only for that copy: the client has the whole reply, and
    what either side writes to the other is split (`dialogs.long_text`), never cut."""
    return text if len(text) <= MAX_RELAYED else text[:MAX_RELAYED] + "…"
