"""What a chat is waiting for, loaded once per update: the rows free text may concern and the
mode they put the chat in (`dialogs.awaiting` decides it; `bot.handlers.free_text` obeys)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.cases.reminders import to_plan
from bot.services import Services
from dialogs import reminders
from dialogs.awaiting import RELAY_WINDOW, Awaiting, awaiting
from dialogs.statuses import BroadcastStatus
from storage import broadcasts, inbox, repo
from storage.models import Broadcast, Client, Handoff, stored_id


@dataclass(frozen=True)
class Chat:
    awaiting: Awaiting
    client: Client | None = None
    handoff: Handoff | None = None  # the open conversation with the team, if any
    draft: Broadcast | None = None  # a staff member's tip in the making, if any
    reply: Handoff | None = None  # a staff member's answer to a client from /inbox, if any


async def load_chat(
    services: Services, user_id: int, *, edited: bool, command: bool, typed: bool
) -> Chat:
    """`edited`: an edit of an earlier message; `command`: an unknown /command; `typed`: it
    has text. Only a new message that is not a command goes to the team, and only typed text
    answers the time-zone or working-hours question; an edit concerns a staff member's tip
    only to tell them it is not taken (the preview would no longer match)."""
    fresh = not edited and not command
    staff = services.is_staff(user_id)
    since = services.clock() - RELAY_WINDOW  # the clock every hand-off row is stamped with

    def transaction(session: Session) -> Chat:
        draft = broadcasts.open_draft(session, user_id, broadcasts.OPEN_DRAFT) if staff else None
        # An edit concerns a tip in the making only to be told it is not taken.
        draft_status = (
            BroadcastStatus.COMPOSE if edited and draft else (draft.status if draft else None)
        )
        reply = inbox.reply_target(session, user_id) if staff and fresh else None
        client = repo.active_client(session, user_id)
        if client is None:
            mode = awaiting(
                None, staff=staff, staff_draft=draft_status, staff_reply=reply is not None
            )
            return Chat(mode, draft=draft, reply=reply)
        client_id = stored_id(client)
        plan = repo.reminder_plan(session, client_id) if fresh and typed else None
        handoff = repo.open_handoff(session, client_id, since) if fresh else None
        draft_plan = to_plan(plan) if plan is not None else None
        mode = awaiting(
            client.stage,
            zone_asked=draft_plan is not None and reminders.wants_zone(draft_plan),
            hours_asked=draft_plan is not None and reminders.wants_hours(draft_plan),
            setup_asked=draft_plan is not None and reminders.wants_tap(draft_plan),
            staff_draft=draft_status,
            staff_reply=reply is not None,
            conversation=handoff is not None,
        )
        return Chat(mode, client, handoff, draft, reply)

    return await services.db.run(transaction)
