"""The team's rules for a client's conversation, as pure decisions: who may take a request,
which posts a staff reply reaches the client from, why a staff message is not delivered, what
may be closed and whose health details may be shown. `bot/cases/` applies them; the tests
state them (tests/test_team.py)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from dialogs.awaiting import STAFF_REPLY_TIMEOUT
from dialogs.render import labels
from dialogs.replies import Notice
from dialogs.statuses import HandoffStatus, PostKind

# The posts a staff reply to reaches the client from: the request and the client's own words.
# A reply to anything else (a note, a receipt, the health details) stays in the team.
REPLY_TARGETS = (PostKind.REQUEST, PostKind.RELAY)


def take_notice(
    *, found: bool, won: bool, staff_id: int, taken_by: int | None, name: str | None
) -> Notice:
    """Who may take a request: the first staff member to press Take while it is open; the
    rest are told who has it (a closed or erased one is gone for everybody)."""
    if not found:
        return Notice(labels.inbox_gone, alert=True)
    if won:
        return Notice(labels.inbox_taken)
    if taken_by == staff_id:
        return Notice(labels.inbox_yours)
    if name:
        return Notice(labels.inbox_taken_by.format(name=name), alert=True)
    return Notice(labels.inbox_taken_by_someone, alert=True)


class ReplyMeaning(StrEnum):
    """What a staff member's reply in the staff chat to one of the bot's posts is."""

    TO_CLIENT = "to_client"  # it goes to the client the post is about
    TEAM_NOTE = "team_note"  # "note: ..." or "#note ...": for colleagues, never sent
    NOT_A_TARGET = "not_a_target"  # a reply to a note or receipt: said so, not sent


def reply_meaning(kind: str | None, text: str) -> ReplyMeaning:
    """A reply to the request or to the client's words reaches the client, unless it says it
    is a note; a reply to any other post about them (`kind`) stays in the team. `kind` None: a
    post the bot keeps no record of (the client is unknown: they are told it was not sent)."""
    if text.lstrip().casefold().startswith(("note:", "#note")):
        return ReplyMeaning.TEAM_NOTE
    if kind is not None and kind not in REPLY_TARGETS:
        return ReplyMeaning.NOT_A_TARGET
    return ReplyMeaning.TO_CLIENT


def why_not_delivered(
    *, known: bool, blocked: bool, open_conversation: bool, closed_by_staff: bool
) -> str | None:
    """Why a staff message cannot go to the client (None: it can). It goes only while the
    client's conversation is open: a week after their last request or message, until a
    colleague closes it; never to a client who blocked the bot or is unknown."""
    if not known:
        return "unknown"
    if blocked:
        return "blocked"
    if open_conversation:
        return None
    return "closed" if closed_by_staff else "expired"


def closable(kind: str, status: str) -> bool:
    """Only a request that reached the team can be closed (closing it closes the client's
    whole conversation: every open request and staff reply of theirs)."""
    return kind == PostKind.REQUEST and status == HandoffStatus.SENT


def details_shared(kind: str, status: str) -> bool:
    """Whether staff may see a request's self-check details: only what the client agreed to
    share, a request that reached the team (open or closed since), never one they declined."""
    return kind == PostKind.REQUEST and status in (HandoffStatus.SENT, HandoffStatus.CLOSED)


def reply_too_late(started: datetime, now: datetime) -> bool:
    """A reply written from /inbox goes only if it comes within STAFF_REPLY_TIMEOUT of
    pressing Reply: later, the staff member may have moved on and the client with them."""
    return now - started > STAFF_REPLY_TIMEOUT
