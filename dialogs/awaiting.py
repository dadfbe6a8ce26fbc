"""What a chat is waiting for: the one place that decides what free text means.

A typed message, a sticker or a photo can be the answer to a question the bot asked, a staff
member's tip, a message for the clinic team, or nothing in particular. Every mode a chat can
be in is listed here, decided from the facts loaded once per update (`storage.repo.chat`),
so a handler matches on one value instead of asking in turn. The emergency-phrase check
(`dialogs.emergency`) stands ahead of every client mode; a new mode (an inbox, a check-in)
is one more member here and one more case in `bot.handlers.free_text`.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from dialogs.statuses import BroadcastStatus, Stage

RELAY_WINDOW = timedelta(days=7)  # how long after a hand-off what the client writes goes on
# How long after Reply in /inbox a staff member's next message still goes to the client: a
# message written later is not sent (they are told), so a Reply pressed and forgotten never
# catches a message meant for something else days later.
STAFF_REPLY_TIMEOUT = timedelta(minutes=30)


class Awaiting(StrEnum):
    NOTHING = "nothing"  # idle: a short hint of what the bot can do
    CONSENT = "consent"  # a consent button (new clients)
    ANSWER = "answer"  # a screening question's button
    ZONE = "zone"  # a typed time zone (the reminder setup asked for one)
    HOURS = "hours"  # typed working hours (the reminder setup asks when the day starts/ends)
    SETUP = "setup"  # a reminder-setup button (days, how often): typed text gets it again
    CONVERSATION = "conversation"  # the client is talking with the clinic team (hand-off)
    STAFF_TIP = "staff_tip"  # a staff member's tip, its date and time, or an edit of either
    STAFF_PANEL = "staff_panel"  # a staff member's tip, previewed: its panel's buttons
    STAFF_REPLY = "staff_reply"  # a staff member's answer to a client, after Reply in /inbox
    STAFF_IDLE = "staff_idle"  # a staff member who is no client: a word on their commands


STAFF_MODES = frozenset(
    {Awaiting.STAFF_TIP, Awaiting.STAFF_PANEL, Awaiting.STAFF_REPLY, Awaiting.STAFF_IDLE}
)
CLIENT_MODES = frozenset(Awaiting) - STAFF_MODES


def awaiting(
    stage: str | None,
    *,
    staff: bool = False,
    zone_asked: bool = False,
    hours_asked: bool = False,
    setup_asked: bool = False,
    staff_draft: str | None = None,
    staff_reply: bool = False,
    conversation: bool = False,
) -> Awaiting:
    """The chat's mode from what was loaded. A typed time zone or typed working hours were
    just asked for; an open conversation with the team takes anything else the client writes,
    even mid-screening (the question's buttons still work). A staff member who pressed Reply
    in /inbox is answering a client: that comes before a tip they may have in the making,
    since the more recent wins and starting a tip (or any other command) ends reply mode.
    `staff_draft`: the status of a tip in the making, if any (an edited message is about a
    tip being written whatever its status: it is not taken). A
    staff member the bot does not know as a client is not made one by a stray message."""
    if staff_reply:
        return Awaiting.STAFF_REPLY
    if staff_draft in (BroadcastStatus.COMPOSE, BroadcastStatus.WHEN):
        return Awaiting.STAFF_TIP
    if staff_draft == BroadcastStatus.DRAFT:
        return Awaiting.STAFF_PANEL
    if staff and stage is None:  # a stray message is no first contact as a client
        return Awaiting.STAFF_IDLE
    if zone_asked:
        return Awaiting.ZONE
    if hours_asked:
        return Awaiting.HOURS
    if setup_asked:
        return Awaiting.SETUP
    if conversation:
        return Awaiting.CONVERSATION
    if stage == Stage.SCREENING:
        return Awaiting.ANSWER
    if stage in (None, Stage.NEW, Stage.CONSENT_HEALTH, Stage.CONSENT_TIPS):
        return Awaiting.CONSENT
    return Awaiting.NOTHING
