"""Every status and kind the bot stores, as `StrEnum`s: the same strings as in the rows (no
data migration), one name for each in code, so a typo is an error and a reader sees every
state a row can be in. Pure: storage, the dialogs and the bot all use these."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Where a client is on their path: welcome, the two consents, the self-check, idle."""

    NEW = "new"
    CONSENT_HEALTH = "consent_health"
    CONSENT_TIPS = "consent_tips"
    SCREENING = "screening"
    IDLE = "idle"


class Tier(StrEnum):
    """A client's safety status (care-safety.md): A emergency now, B a doctor today (both
    hold the client), C book but see a GP too."""

    A = "A"
    B = "B"
    C = "C"


class ScreeningStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    RED_FLAG = "red_flag"
    CANCELLED = "cancelled"


class PostKind(StrEnum):
    """What a `Handoff` row is: a request to talk to a person, or one of the posts about a
    client the bot keeps (removed with their data), or a staff member's reply in the making."""

    REQUEST = "request"  # the client asked for a person (or the bot did, on crisis words)
    RELAY = "relay"  # the client's words, passed on
    STAFF = "staff"  # a staff reply's "✅ Delivered" receipt
    DETAIL = "detail"  # health details shown on demand, removed after a day
    NOTE = "note"  # a staff action's note (taken, closed, alerted, a reply's copy)
    REPLY = "reply"  # a staff member writing an answer from /inbox
    LISTING = "listing"  # an /inbox page listing the client (a staff member's private chat)
    EXPORT = "export"  # an /export file with the client's row (likewise)


class HandoffStatus(StrEnum):
    ASKED = "asked"  # a request awaiting the client's yes
    SENDING = "sending"
    SENT = "sent"  # a request that reached the team, or a post that stands
    DECLINED = "declined"
    FAILED = "failed"
    CLOSED = "closed"  # staff closed the conversation
    DELETED = "deleted"  # a detail post removed
    WRITING = "writing"  # a reply row, until the answer is sent or cancelled


class Urgent(StrEnum):
    """Why a request is urgent though the client did not ask for one."""

    CRISIS = "crisis"


class PlanStatus(StrEnum):
    NONE = "none"  # never set up (no row)
    SETUP = "setup"
    ACTIVE = "active"
    PAUSED = "paused"
    ASKING = "asking"  # the check-in for ignored prompts awaits an answer
    OFF = "off"


class BroadcastStatus(StrEnum):
    COMPOSE = "compose"  # waiting for the staff member's text
    WHEN = "when"  # waiting for a typed date and time
    DRAFT = "draft"  # previewed
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"
    MISSED = "missed"  # planned, but the bot was down long past its time


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"  # in flight at a crash: never sent again
    SKIPPED = "skipped"  # the client opted out (or was erased) after the broadcast started
    CANCELLED = "cancelled"  # staff stopped the broadcast before it reached this client
    HELD = "held"  # a red flag, or crisis words that day, since the broadcast started
