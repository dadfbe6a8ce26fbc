"""The staff inbox's queries: open hand-off requests, taking one, replying from /inbox, and
the "waited too long" alert.

A request is open while its client's conversation is (`storage.repo.keeps_open`: sent or
answered within RELAY_WINDOW, not closed), the same rule that passes the client's messages
on and lets a staff reply through; the inbox shows each client once, with their newest
request. Every change that two staff members (or two replicas) could make at once is one
conditional UPDATE (or an upsert): the row changes only if it is still as the caller saw it,
and the row count says who won. So a request is taken by one person, and alerted about
once, whoever is quicker. Times are the bot's clock (`Services.clock`), passed in as `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, UnaryExpression, delete, exists, func, text, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from dialogs.awaiting import RELAY_WINDOW
from dialogs.opening_hours import OpeningHours
from dialogs.statuses import HandoffStatus, PostKind
from storage.db import upsert_insert
from storage.models import Client, Handoff
from storage.repo import keeps_open, open_handoff

REPLY = PostKind.REPLY  # the kind of row that puts a staff member's next message on its way
WRITING = HandoffStatus.WRITING


@dataclass(frozen=True)
class OpenRequest:
    """An open request with its client (loaded together for the list and the alert), and
    when a staff member first answered the client after it (None: not yet)."""

    request: Handoff
    client: Client
    answered_at: datetime | None = None

    @property
    def since(self) -> datetime:
        """When it reached the clinic (requests from before the inbox: when asked)."""
        return self.request.sent_at or self.request.created_at


def _open() -> tuple[ColumnElement[bool], ...]:
    return (col(Handoff.kind) == PostKind.REQUEST, col(Handoff.status) == HandoffStatus.SENT)


def _newest_first() -> tuple[UnaryExpression[Any], ...]:
    """Requests by when they reached the clinic, the newest first."""
    return (func.coalesce(Handoff.sent_at, Handoff.created_at).desc(), col(Handoff.id).desc())


def open_requests(session: Session, now: datetime) -> list[OpenRequest]:
    """One per client whose conversation is open: their newest request (a second /human is
    a new ask in the same conversation: it is what the list shows and what is alerted about,
    waiting since it was sent). Closing closes all of a client's requests."""
    recent = aliased(Handoff)
    conversation_open = exists().where(
        col(recent.client_id) == col(Handoff.client_id), *keeps_open(recent, now - RELAY_WINDOW)
    )
    rows = session.exec(
        select(Handoff, Client)
        .join(Client, col(Client.id) == col(Handoff.client_id))
        .where(*_open(), conversation_open)
        .order_by(*_newest_first())
    ).all()
    newest: dict[int, tuple[Handoff, Client]] = {}
    for request, client in rows:
        newest.setdefault(request.client_id, (request, client))
    answers = _first_answers(session, [request for request, _ in newest.values()])
    return [
        OpenRequest(request, client, answers.get(request.client_id))
        for request, client in newest.values()
    ]


def _first_answers(session: Session, requests: list[Handoff]) -> dict[int, datetime]:
    """Per client, when a staff reply first reached them after their request (its receipt,
    stamped with the bot's clock), in one query for the whole list."""
    if not requests:
        return {}
    reached = {r.client_id: r.sent_at or r.created_at for r in requests}
    rows = session.exec(
        select(Handoff.client_id, Handoff.created_at).where(
            col(Handoff.client_id).in_(reached), Handoff.kind == PostKind.STAFF
        )
    ).all()
    first: dict[int, datetime] = {}
    for client_id, at in rows:
        if at >= reached[client_id] and (client_id not in first or at < first[client_id]):
            first[client_id] = at
    return first


def take_by_reply(
    session: Session, client_id: int, staff_id: int, staff_name: str, now: datetime
) -> None:
    """A staff member has answered the client: their open conversation is theirs, unless a
    colleague has taken it (answering is taking, so the inbox shows who has it)."""
    claim = {"taken_by": staff_id, "taken_by_name": staff_name[:128], "taken_at": now}
    session.execute(
        update(Handoff)
        .where(col(Handoff.client_id) == client_id, *_open(), col(Handoff.taken_by).is_(None))
        .values(**claim)
    )


def open_request(session: Session, request_id: int, now: datetime) -> OpenRequest | None:
    """The request if it is still open (a button pressed on an older list may name one
    closed since, one whose week ran out, or a client who deleted their data)."""
    request = session.get(Handoff, request_id)
    if request is None or request.kind != PostKind.REQUEST or request.status != HandoffStatus.SENT:
        return None
    client = session.get(Client, request.client_id)
    if client is None or open_handoff(session, request.client_id, now - RELAY_WINDOW) is None:
        return None
    return OpenRequest(request, client)


def take(
    session: Session, request_id: int, staff_id: int, staff_name: str, now: datetime
) -> tuple[OpenRequest | None, bool]:
    """Staff member `staff_id` takes the request, and with it the client's open conversation
    (a newer request the list did not show yet is part of it). Returns the request (None:
    closed or gone) and whether this call took it (False: somebody, maybe the same person,
    had it already)."""
    found = open_request(session, request_id, now)
    if found is None:
        return None, False
    claim = {"taken_by": staff_id, "taken_by_name": staff_name[:128], "taken_at": now}
    untaken = (*_open(), col(Handoff.taken_by).is_(None))
    taken = session.exec(  # the pressed request decides who won
        update(Handoff).where(col(Handoff.id) == request_id, *untaken).values(**claim)
    )
    won = bool(taken.rowcount)
    if won:  # the rest of the conversation goes with it
        session.execute(
            update(Handoff)
            .where(col(Handoff.client_id) == found.request.client_id, *untaken)
            .values(**claim)
        )
    session.refresh(found.request)  # who has it now, whoever won
    return (found if found.request.status == HandoffStatus.SENT else None), won


def carry_take(session: Session, request_id: int, now: datetime) -> None:
    """A client's open conversation is one case: a new request in it belongs to whoever took
    an earlier one, so the inbox shows who has it and no alert goes for it. Called as the
    request reaches the staff chat, before it keeps the conversation open itself."""
    request = session.get(Handoff, request_id)
    if request is None or open_handoff(session, request.client_id, now - RELAY_WINDOW) is None:
        return  # closed, or a week without a word: a new case, for anyone to take
    earlier = session.exec(
        select(Handoff)
        .where(
            Handoff.client_id == request.client_id,
            *_open(),
            col(Handoff.taken_by).is_not(None),
            col(Handoff.id) != request_id,
        )
        .order_by(col(Handoff.id).desc())
    ).first()
    if earlier is not None and request.taken_by is None:
        request.taken_by, request.taken_by_name = earlier.taken_by, earlier.taken_by_name
        request.taken_at = earlier.taken_at


def request_post(session: Session, client_id: int) -> Handoff | None:
    """The client's newest request sent to the staff chat (the one /inbox lists): a reply
    from /inbox is copied under its post."""
    return session.exec(
        select(Handoff).where(Handoff.client_id == client_id, *_open()).order_by(*_newest_first())
    ).first()


def start_reply(
    session: Session, request_id: int, staff_id: int, now: datetime
) -> OpenRequest | None:
    """The staff member's next message in their private chat goes to this request's client:
    their `reply` row, one per staff member (an earlier one, even from a Reply pressed at
    the same moment on another replica, is replaced). None: the request is not open."""
    found = open_request(session, request_id, now)
    if found is None:
        return None
    values = {"client_id": found.client.id, "created_at": now, "status": WRITING}
    session.execute(
        upsert_insert(session)(Handoff)
        .values(kind=REPLY, taken_by=staff_id, **values)
        .on_conflict_do_update(
            index_elements=["taken_by"], index_where=text("kind = 'reply'"), set_=values
        )
    )
    return found


def reply_target(session: Session, staff_id: int) -> Handoff | None:
    """The reply the staff member is writing from /inbox, if any (its client: `client_id`)."""
    return session.exec(
        select(Handoff).where(
            Handoff.kind == REPLY, Handoff.status == WRITING, Handoff.taken_by == staff_id
        )
    ).first()


def end_reply(session: Session, staff_id: int, reply_id: int | None = None) -> Client | None:
    """Stop the staff member's reply mode (sent, cancelled, timed out, or another command).
    `reply_id`: only that one (a second message racing the first finds it gone). Returns
    whom they were writing to."""
    target = reply_target(session, staff_id)
    if target is None or (reply_id is not None and target.id != reply_id):
        return None
    gone = session.exec(delete(Handoff).where(col(Handoff.id) == target.id))
    if not gone.rowcount:
        return None
    return session.get(Client, target.client_id)


def writing_to(session: Session, client_id: int) -> list[int]:
    """Staff members writing a reply to this client from /inbox (told if the client erases
    their data: the row goes with the client)."""
    return [
        staff_id
        for staff_id in session.exec(
            select(Handoff.taken_by).where(
                Handoff.client_id == client_id, Handoff.kind == REPLY, Handoff.status == WRITING
            )
        ).all()
        if staff_id is not None  # (a reply row always names its writer)
    ]


def due_alerts(session: Session, now: datetime, hours: OpeningHours, minutes: int) -> list[int]:
    """Requests nobody took or answered that have waited longer than `minutes` of opening
    hours and were not alerted about yet: their ids."""
    due: list[int] = []
    for found in open_requests(session, now):
        request = found.request
        if request.taken_by is not None or request.alerted_at is not None:
            continue
        if _answered_since(session, request.client_id, found.since):
            continue
        if hours.open_time_between(found.since, now).total_seconds() > minutes * 60:
            assert request.id is not None
            due.append(request.id)
    return due


def claim_alert(session: Session, request_id: int, now: datetime) -> OpenRequest | None:
    """Mark the alert as sent, if nobody has: the request to alert about, else None."""
    claimed = session.exec(
        update(Handoff)
        .where(
            col(Handoff.id) == request_id,
            *_open(),
            col(Handoff.alerted_at).is_(None),
            col(Handoff.taken_by).is_(None),
        )
        .values(alerted_at=now)
    )
    return open_request(session, request_id, now) if claimed.rowcount else None


def unclaim_alert(session: Session, request_id: int) -> None:
    """The alert could not be posted: due again at a later look."""
    session.execute(update(Handoff).where(col(Handoff.id) == request_id).values(alerted_at=None))


def _answered_since(session: Session, client_id: int, since: datetime) -> bool:
    """A staff member has replied to this client since `since` (in the group or from /inbox:
    the delivery's receipt row, stamped with the bot's clock)."""
    return (
        session.exec(
            select(Handoff.id).where(
                Handoff.client_id == client_id,
                Handoff.kind == PostKind.STAFF,
                col(Handoff.created_at) >= since,
            )
        ).first()
        is not None
    )
