"""/privacy, /mydata, /delete and the consent switches, as use cases: what a client sees of
their consents, everything stored about them, and erasing it with every post about them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session
from telegram import Bot

from bot.cases.conversation import checked_of, safety_of
from bot.cases.inbox import tell_reply_gone
from bot.cases.staff_posts import Post, remove_posts
from bot.services import Services
from dialogs import mydata
from dialogs.presses import DeleteEverything, KeepData, SwitchConsent
from dialogs.render import labels, render
from dialogs.replies import Button, Reply
from dialogs.statuses import PostKind, Stage
from storage import inbox, repo
from storage import progress as checkins
from storage.models import Client, stored_id


async def privacy(services: Services, user_id: int) -> Reply:
    """/privacy: what is kept and why, with a switch for each consent."""
    client = await services.db.run(lambda s: repo.active_client(s, user_id))
    return privacy_view(services, client)


@dataclass(frozen=True)
class Switched:
    """A consent switched: the client as they are now, whether it changed, and the health
    details shown to staff that are to go now (health consent withdrawn)."""

    client: Client | None
    changed: bool
    details: tuple[Post, ...] = ()


async def switch_consent(services: Services, user_id: int, topic: str, agree: bool) -> Switched:
    """Set one consent ("health" or "tips"). Health consent withdrawn, the health details
    shown to staff go too (`remove_posts`, after the client is answered)."""

    def switch(session: Session) -> Switched:
        client = repo.active_client(session, user_id)
        if client is None:
            return Switched(None, False)
        current = client.health_consent if topic == "health" else client.tips_consent
        if bool(current) == agree:
            return Switched(client, False)
        if topic == "tips":
            repo.set_tips_consent(session, client, agree)
        elif agree:
            repo.give_health_consent(session, client)
        else:
            details = repo.staff_posts(session, stored_id(client), (PostKind.DETAIL,))
            repo.withdraw_health_consent(session, client)
            return Switched(client, True, tuple(details))
        return Switched(client, True)

    return await services.db.run(switch)


@dataclass(frozen=True)
class MyData:
    """/mydata: everything stored, in plain words (one or more messages) and as JSON."""

    texts: list[str]
    payload: bytes


async def my_data(services: Services, user_id: int) -> MyData | None:
    """Everything stored about the client; None if nothing is."""

    def export(session: Session) -> tuple[dict[str, object], mydata.Facts] | None:
        client = repo.active_client(session, user_id)
        if client is None:
            return None
        return repo.export_client(session, client), _facts(session, client, services)

    found = await services.db.run(export)
    if found is None:
        return None
    data, facts = found
    texts = mydata.summary(facts, services.questionnaire, services.clinic.zone)
    return MyData(list(texts), json.dumps(data, indent=2, ensure_ascii=False).encode())


def _facts(session: Session, client: Client, services: Services) -> mydata.Facts:
    """What /mydata words, read from the client's rows."""
    client_id = stored_id(client)
    check = None
    latest = repo.latest_finished_screening(session, client_id)
    if latest is not None:
        check = mydata.Check(
            status=latest.status,
            finished_at=latest.finished_at,
            answers=repo.answer_pairs(session, stored_id(latest)),
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


async def offer_delete(services: Services, user_id: int) -> Reply:
    """/delete: asks first; the client's id in the button makes an old one from before an
    earlier deletion stale."""
    client = await services.db.run(lambda s: repo.active_client(s, user_id))
    if client is None or client.id is None:
        return Reply(render("no_data"))
    buttons = (
        (Button(labels.delete_yes, DeleteEverything(client.id)),),
        (Button(labels.delete_no, KeepData()),),
    )
    return Reply(render("delete_confirm"), buttons)


@dataclass(frozen=True)
class Erased:
    """What was left outside the database when a client's rows went."""

    posts: list[tuple[int, int]]  # the bot's posts about them in staff chats
    replying: list[int]  # staff writing a reply to them from /inbox
    name: str


async def erase(services: Services, user_id: int, chat: int, client_ref: int) -> Erased | None:
    """Erase everything stored about the client (`client_ref`: the id the button was made
    for); None: a stale button (from before an earlier deletion)."""

    def transaction(session: Session) -> Erased | None:
        client = repo.get_client(session, user_id)
        if client is None or client.id is None or client_ref != client.id:
            return None
        posts = repo.staff_posts(session, client.id)
        replying = inbox.writing_to(session, client.id)
        name = client.first_name
        repo.delete_client(session, client)
        return Erased(posts, replying, name)

    erased = await services.db.run(transaction)
    if erased is not None:
        # Words to the team waiting to be merged into one post (a couple of seconds) go too.
        services.relay_bursts.pop(chat, None)
    return erased


async def remove_traces(bot: Bot, erased: Erased) -> Reply:
    """Every post about the erased client that Telegram still lets the bot delete goes (staff
    are asked to delete the rest); staff writing a reply to them are told it can't go. What the
    client is told, with what could not be removed."""
    await tell_reply_gone(bot, erased.replying, erased.name)
    kept = await remove_posts(bot, erased.posts)
    return Reply(render("deleted", removed=len(erased.posts) - len(kept), kept=len(kept)))


def privacy_view(services: Services, client: Client | None) -> Reply:
    """/privacy as it stands for this client (None: not known, nothing kept)."""
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
        website=services.clinic.website,
    )
    return Reply(text, buttons)
