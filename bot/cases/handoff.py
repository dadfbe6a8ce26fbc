"""Hand-off to a person at the clinic, as use cases: asking, sharing or declining a request,
the urgent request crisis words open, a client's words passed on, the health details shown to
staff, a staff reply delivered, and closing a conversation.

The rules are `dialogs.team`'s; each function loads what it needs in one unit of work and
posts to the staff chat itself (that post is the action), returning what the person who acted
is to be shown.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session
from telegram import Bot, Message
from telegram.error import Forbidden, TelegramError

from bot.cases.conversation import safety_of
from bot.cases.staff_posts import keep_post, post_note, remove_posts
from bot.replies import markup
from bot.services import Services
from dialogs.awaiting import RELAY_WINDOW
from dialogs.emergency import Symptom, scan
from dialogs.events import DoctorChecked
from dialogs.inbox import after_hours
from dialogs.long_text import in_parts
from dialogs.presses import CloseConversation, DeclineRequest, ShareRequest, ShowDetails
from dialogs.render import labels, render
from dialogs.replies import Button, Reply
from dialogs.safety import Safety, urgent_advice
from dialogs.statuses import HandoffStatus, PlanStatus, PostKind, Urgent
from dialogs.team import ReplyMeaning, details_shared, reply_meaning, why_not_delivered
from storage import inbox, repo
from storage.models import Client, Handoff, Screening
from storage.repo import TelegramUser

log = logging.getLogger(__name__)
RELAY_MERGE = timedelta(seconds=2)  # a client's messages this close together are one post
MAX_RELAYED = 3500  # characters of a reply's copy for colleagues, leaving room for the frame


async def ask(services: Services, user_id: int, words: str = "") -> Reply:
    """The confirmation before anything is shared: what would be (and the client's own words,
    if they wrote some with /human), with buttons naming this very request."""
    staff_chat = services.settings.staff_chat_id

    def load(session: Session) -> tuple[Handoff | None, Screening | None, Safety] | None:
        client = repo.active_client(session, user_id)
        if client is None:
            return None
        safety = safety_of(client, services)
        if staff_chat is None:
            return None, None, safety
        return (*repo.ask_handoff(session, client, services.clock(), words or None), safety)

    asked = await services.db.run(load)
    if asked is None:
        return Reply(render("needs_start"))
    handoff, screening, safety = asked
    if handoff is None or handoff.id is None:  # no staff chat: the website, after any advice
        return unavailable(services, safety)
    buttons = (
        (Button(labels.handoff_send, ShareRequest(handoff.id)),),
        (Button(labels.handoff_cancel, DeclineRequest(handoff.id)),),
    )
    text = render(
        "handoff_confirm",
        has_screening=screening is not None,
        red_flag=bool(screening and screening.red_flag_tier),
        urgent=_urgent(safety),
        words=words,
    )
    return Reply(text, buttons)


@dataclass(frozen=True)
class Answered:
    """A client's yes or no to their request, recorded; `summary`: the post for the team."""

    request_id: int
    client_id: int
    share: bool
    summary: str
    safety: Safety


async def answer_request(
    services: Services, user_id: int, request_id: int, *, share: bool
) -> Answered | None:
    """Record the client's answer to the confirmation; None if it is stale (deleted since,
    or answered already: a second tap). Not shared, their words are not kept."""
    staff_chat = services.settings.staff_chat_id

    def take(session: Session) -> Answered | None:
        client = repo.active_client(session, user_id)
        if client is None or client.id is None:
            return None
        handoff = repo.pending_handoff(session, client.id, request_id)
        if handoff is None:
            return None
        safety = safety_of(client, services)
        if not share or staff_chat is None:
            handoff.status = HandoffStatus.DECLINED if not share else HandoffStatus.FAILED
            handoff.words = None  # not shared: not kept
            return Answered(request_id, client.id, False, "", safety)
        handoff.status = HandoffStatus.SENDING
        shared_hold = safety.holds and handoff.screening_id is not None
        summary = render("staff_handoff_post", client=client, urgent=shared_hold)
        return Answered(request_id, client.id, True, summary, safety)

    return await services.db.run(take)


async def share_request(services: Services, bot: Bot, answered: Answered) -> Reply:
    """Post the request the client said yes to in the staff chat, once, then the words they
    wrote with it; what the client is told (sent, and whether the clinic is closed now; or
    that it could not go, with the website)."""
    staff_chat = services.settings.staff_chat_id
    request_id = answered.request_id
    posted = None
    if staff_chat is not None:
        buttons = (
            (Button(labels.handoff_details, ShowDetails(request_id)),),
            (Button(labels.handoff_close, CloseConversation(request_id)),),
        )
        try:
            posted = await bot.send_message(
                staff_chat, answered.summary, reply_markup=markup(buttons)
            )
        except TelegramError:
            log.exception("could not post a hand-off to the staff chat")
    if posted is None:
        await services.db.run(
            lambda s: repo.set_handoff_status(s, request_id, HandoffStatus.FAILED)
        )
        return unavailable(services, answered.safety)
    post, now = (posted.chat_id, posted.message_id), services.clock()

    def sent(session: Session) -> tuple[datetime | None, Client | None, Handoff | None]:
        told_at = repo.last_to_team(session, answered.client_id)
        inbox.carry_take(session, request_id, now)
        repo.set_handoff_status(session, request_id, HandoffStatus.SENT, post, now)
        return told_at, session.get(Client, answered.client_id), session.get(Handoff, request_id)

    told_at, client, request = await services.db.run(sent)
    if client is not None and request is not None and request.words:  # what came with /human
        found = scan(request.words, services.phrases)
        flags = [flag for flag in (found.crisis, found.symptom) if flag is not None]
        await post_words(services, bot, client, request, request.words, flags)
        await services.db.run(lambda s: repo.forget_words(s, request_id))
    closed = after_hours(services.clinic.opening_hours, now, told_at)
    return Reply(render("handoff_sent", urgent=_urgent(answered.safety), after_hours=closed))


async def alert_crisis(
    services: Services, bot: Bot, user: TelegramUser, chat: int
) -> tuple[Client, Handoff] | None:
    """Crisis words from a client not talking to the team: an urgent post in the staff chat
    that opens a conversation (an urgent request, first in /inbox), so a person can write to
    them and what they write reaches the team. None if there is no staff chat, the post
    failed, or the client erased their data meanwhile. The client is told, in the crisis
    answer; their words follow under the post (`bot.handlers.human.relay_to_staff`)."""
    staff_chat = services.settings.staff_chat_id
    if staff_chat is None:
        return None
    now = services.clock()

    def open_request(session: Session) -> tuple[Client, int]:
        client = repo.active_client(session, user.id) or repo.create_client(
            session, user, chat, None
        )
        assert client.id is not None
        request = Handoff(
            client_id=client.id, status=HandoffStatus.SENDING, urgent=Urgent.CRISIS, created_at=now
        )
        session.add(request)
        plan = repo.reminder_plan(session, client.id)
        if plan is not None and plan.status == PlanStatus.SETUP:
            plan.step = None  # what they write next is for the team, not a setup question
        session.flush()
        assert request.id is not None
        return client, request.id

    client, request_id = await services.db.run(open_request)
    client_id = client.id
    close = ((Button(labels.handoff_close, CloseConversation(request_id)),),)
    try:
        posted = await bot.send_message(
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
        await remove_posts(bot, [post])
    return opened


@dataclass
class RelayBurst:
    """A client's messages to the team, waiting to be posted as one."""

    client: Client
    handoff: Handoff
    parts: list[str] = field(default_factory=list)
    flags: list[Symptom] = field(default_factory=list)  # crisis words, red flags, in order
    text_only: bool = False  # a photo (its caption taken, or none) or a sticker was left out
    confirm: bool = False  # tell the client it was passed on


async def post_burst(services: Services, bot: Bot, chat: int) -> None:
    """Post a chat's waiting messages to the team as one, and confirm once (when the clinic
    is closed, the confirmation says so with the first message of the night only)."""
    burst: RelayBurst | None = services.relay_bursts.pop(chat, None)
    if burst is None or services.settings.staff_chat_id is None:
        return
    client = burst.client
    client_id = client.id
    assert client_id is not None
    told_at = await services.db.run(lambda s: repo.last_to_team(s, client_id))
    text = "\n\n".join(burst.parts)
    now = await post_words(services, bot, client, burst.handoff, text, burst.flags)
    if now is None or not burst.confirm:
        return
    closed = after_hours(services.clinic.opening_hours, now, told_at)
    await bot.send_message(
        chat, render("relay_sent", text_only=burst.text_only, after_hours=closed)
    )


async def post_words(
    services: Services,
    bot: Bot,
    client: Client,
    request: Handoff,
    text: str,
    flags: list[Symptom],
) -> datetime | None:
    """A client's words, under their request in the staff chat, marked with what they speak
    of (crisis words, red flags). Too long for one post, they go as several, every one kept
    like a single post (a reply to any reaches the client; /delete removes them all). When the
    last went (the bot's clock), or None: not all reached the team (the client is told, so
    they do not think it was read) or the client erased their data meanwhile."""
    staff_chat = request.staff_chat_id or services.settings.staff_chat_id
    assert staff_chat is not None and client.id is not None

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
            posted = await bot.send_message(
                staff_chat,
                post_text,
                reply_to_message_id=request.staff_message_id,
                allow_sending_without_reply=True,
            )
        except TelegramError:
            log.exception("could not pass a client's message on to the staff chat")
            said = unavailable(services, safety_of(client, services))
            await bot.send_message(client.chat_id, said.text, reply_markup=markup(said.buttons))
            return None
        now = services.clock()
        post = (posted.chat_id, posted.message_id)
        if not await keep_post(bot, services, client.id, post, PostKind.RELAY, now):
            return None  # they erased their data meanwhile: the post went, and nothing is said
    return now


async def tell_team_lifted(
    services: Services, bot: Bot, telegram_id: int, hold: Safety, checked: DoctorChecked
) -> None:
    """A held client says a doctor has checked them: if the team heard of the hold (a request
    or a message reached them since it began), a note under the client's request says who
    checked them and when, and that the bot's hold is lifted. Otherwise nothing: the team is
    told only what the client chose to share."""

    def find(session: Session) -> tuple[Client, Handoff] | None:
        client = repo.get_client(session, telegram_id)
        if client is None or client.id is None or hold.since is None:
            return None
        request = inbox.request_post(session, client.id)
        reached = repo.last_to_team(session, client.id)
        if request is None or reached is None or reached < hold.since:
            return None
        return client, request

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
    await post_note(bot, services, request, text)


async def details(services: Services, request_id: int) -> tuple[int, str] | None:
    """The health details a client agreed to share with this request, written to staff (who
    they are, their safety status, the self-check); None if they did not share them."""

    def load(session: Session) -> tuple[int, str] | None:
        request = session.get(Handoff, request_id)
        client = session.get(Client, request.client_id) if request else None
        if request is None or client is None or client.id is None:
            return None
        if not details_shared(request.kind, request.status):
            return None
        return client.id, _staff_summary(session, client, request, services)

    return await services.db.run(load)


async def show_details(
    services: Services, bot: Bot, client_id: int, summary: str, post: tuple[int, int]
) -> None:
    """The details as a reply to the request's `post`, kept as a detail post: the bot removes
    it after a day (well inside the 48 hours Telegram lets a bot delete its posts), so no
    health detail lives on in the group."""
    chat, message_id = post
    shown = await bot.send_message(chat, summary, reply_to_message_id=message_id)
    await keep_post(bot, services, client_id, (shown.chat_id, shown.message_id), PostKind.DETAIL)


async def close_request(services: Services, bot: Bot, request_id: int, staff_name: str) -> bool:
    """Close a client's conversation (the post's button, or /inbox): the post in the staff
    chat loses its buttons and gets a note naming who closed it, and the client is told how
    to open a new one. False if it was closed already (by someone else a moment ago, or the
    client left)."""
    now = services.clock()

    def close(session: Session) -> tuple[Client, Handoff] | None:
        request = session.get(Handoff, request_id)
        client = repo.close_conversation(session, request_id, now)
        if request is None or client is None:
            return None
        return client, request

    closed = await services.db.run(close)
    if closed is None:
        return False
    client, request = closed
    # It is closed now, whatever Telegram says next: the press is answered either way.
    chat, message_id = request.staff_chat_id, request.staff_message_id
    if chat is not None and message_id is not None:
        with contextlib.suppress(TelegramError):  # the post stays; its buttons go
            await bot.edit_message_reply_markup(chat, message_id, reply_markup=None)
        closing = render("staff_closed", name=client.first_name, staff_name=staff_name)
        await post_note(bot, services, request, closing)
    try:
        await bot.send_message(client.chat_id, render("handoff_closed"))
    except Forbidden:
        pass  # they blocked the bot: nothing to tell
    except TelegramError:
        log.exception("could not tell a client their conversation was closed")
    return True


async def reply_in_group(
    services: Services, bot: Bot, message: Message, post: tuple[int, int]
) -> None:
    """A staff member's reply in the staff chat to the bot's post `post`: to the client when
    it answers the request or their words, else kept in the team (`dialogs.team`)."""
    chat, replied_to = post
    kind, client = await services.db.run(lambda s: repo.post_about(s, chat, replied_to))
    match reply_meaning(kind, message.text or ""):
        case ReplyMeaning.TEAM_NOTE:
            return  # a note for colleagues, under the client's post: never sent
        case ReplyMeaning.NOT_A_TARGET:
            await message.reply_text(render("staff_not_a_target"))
        case ReplyMeaning.TO_CLIENT:
            await deliver_staff_reply(services, bot, message, client)


async def deliver_staff_reply(
    services: Services, bot: Bot, message: Message, client: Client | None
) -> bool:
    """A staff member's text to a client (a reply in the staff chat, or from /inbox), if the
    conversation is still open; the staff member is told either way. Answering is taking: the
    inbox shows who has it. True if delivered."""
    sender = message.from_user
    assert sender is not None
    now = services.clock()
    client_id = client.id if client is not None else None

    def why_not(session: Session) -> str | None:
        return why_not_delivered(
            known=client_id is not None,
            blocked=client is not None and client.blocked,
            open_conversation=client_id is not None
            and repo.open_handoff(session, client_id, now - RELAY_WINDOW) is not None,
            closed_by_staff=client_id is not None and repo.closed_by_staff(session, client_id),
        )

    reason = await services.db.run(why_not)
    if reason is not None or client is None or client_id is None:
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
            await bot.send_message(client.chat_id, reply_text)
        except Forbidden:
            await message.reply_text(render("staff_not_delivered", reason="blocked"))
            return False
    delivered = await message.reply_text(render("staff_delivered", name=client.first_name))
    # Staff activity keeps the conversation open and stops the inbox's alert (stamped with the
    # bot's clock); the confirmation is the team's note (a reply to it is not sent).
    post = (delivered.chat_id, delivered.message_id)
    await keep_post(bot, services, client_id, post, PostKind.STAFF, now)
    await services.db.run(
        lambda s: inbox.take_by_reply(s, client_id, sender.id, sender.first_name, now)
    )
    return True


def unavailable(services: Services, safety: Safety) -> Reply:
    """No staff chat (or the post failed): the website, after any urgent advice."""
    button = Button(labels.website, url=services.clinic.website)
    return Reply(render("handoff_unavailable", urgent=_urgent(safety)), ((button,),))


def _urgent(safety: Safety) -> str:
    """The urgent advice that stands first in hand-off messages to a held client."""
    return urgent_advice(safety) if safety.holds else ""


def _staff_summary(session: Session, client: Client, handoff: Handoff, services: Services) -> str:
    """What the staff chat sees: who, their safety status, and the screening the client
    agreed to share (pain, duration, spread, contraindications), written to staff."""
    screening = session.get(Screening, handoff.screening_id) if handoff.screening_id else None
    result = (screening.result or {}) if screening else {}
    answers = dict(repo.answer_pairs(session, screening.id)) if screening and screening.id else {}
    q = services.questionnaire
    finished = screening.finished_at if screening else None
    zone = services.clinic.zone
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
