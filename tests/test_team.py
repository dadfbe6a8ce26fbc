"""The team's rules for a client's conversation (dialogs.team): who may take a request, where
a staff reply goes, why it is not delivered, what may be closed and whose details shown."""

from datetime import UTC, datetime, timedelta

from dialogs import broadcasts, export
from dialogs.awaiting import STAFF_REPLY_TIMEOUT
from dialogs.render import labels
from dialogs.statuses import HandoffStatus, PostKind
from dialogs.team import (
    ReplyMeaning,
    closable,
    details_shared,
    reply_meaning,
    reply_too_late,
    take_notice,
    why_not_delivered,
)


def test_the_first_to_take_a_request_has_it_and_the_others_are_told_who():
    first = take_notice(found=True, won=True, staff_id=1, taken_by=1, name="Ann")
    assert first.text == labels.inbox_taken and not first.alert
    again = take_notice(found=True, won=False, staff_id=1, taken_by=1, name="Ann")
    assert again.text == labels.inbox_yours and not again.alert
    other = take_notice(found=True, won=False, staff_id=2, taken_by=1, name="Ann")
    assert other.alert and "Ann" in (other.text or "")
    nameless = take_notice(found=True, won=False, staff_id=2, taken_by=1, name=None)
    assert nameless.text == labels.inbox_taken_by_someone


def test_a_closed_or_erased_request_is_gone_for_everybody():
    gone = take_notice(found=False, won=False, staff_id=1, taken_by=None, name=None)
    assert gone.text == labels.inbox_gone and gone.alert


def test_only_replies_to_the_request_or_the_clients_words_reach_the_client():
    assert reply_meaning(PostKind.REQUEST, "See you Friday") is ReplyMeaning.TO_CLIENT
    assert reply_meaning(PostKind.RELAY, "See you Friday") is ReplyMeaning.TO_CLIENT
    for kind in (PostKind.NOTE, PostKind.STAFF, PostKind.DETAIL):
        assert reply_meaning(kind, "Priya is tier A, do not book") is ReplyMeaning.NOT_A_TARGET
    assert reply_meaning(None, "hello") is ReplyMeaning.TO_CLIENT  # told: unknown client


def test_a_note_to_colleagues_is_never_sent_even_under_the_request():
    for text in ("note: call her GP", "  NOTE: x", "#note tier A"):
        assert reply_meaning(PostKind.REQUEST, text) is ReplyMeaning.TEAM_NOTE
    assert reply_meaning(PostKind.REQUEST, "notes are in the leaflet") is ReplyMeaning.TO_CLIENT


def test_a_staff_message_goes_only_while_the_conversation_is_open():
    def why(
        known: bool = True,
        blocked: bool = False,
        open_conversation: bool = True,
        closed_by_staff: bool = False,
    ) -> str | None:
        return why_not_delivered(
            known=known,
            blocked=blocked,
            open_conversation=open_conversation,
            closed_by_staff=closed_by_staff,
        )

    assert why() is None
    assert why(known=False) == "unknown"
    assert why(blocked=True) == "blocked"
    assert why(open_conversation=False) == "expired"
    assert why(open_conversation=False, closed_by_staff=True) == "closed"


def test_only_a_request_that_reached_the_team_can_be_closed():
    assert closable(PostKind.REQUEST, HandoffStatus.SENT)
    for status in (HandoffStatus.ASKED, HandoffStatus.DECLINED, HandoffStatus.CLOSED):
        assert not closable(PostKind.REQUEST, status)
    assert not closable(PostKind.RELAY, HandoffStatus.SENT)


def test_details_of_a_request_the_client_declined_are_never_shown():
    assert details_shared(PostKind.REQUEST, HandoffStatus.SENT)
    assert details_shared(PostKind.REQUEST, HandoffStatus.CLOSED)
    for status in (HandoffStatus.ASKED, HandoffStatus.DECLINED, HandoffStatus.FAILED):
        assert not details_shared(PostKind.REQUEST, status)
    assert not details_shared(PostKind.NOTE, HandoffStatus.SENT)


def test_a_reply_from_the_inbox_goes_only_within_half_an_hour_of_pressing_reply():
    pressed = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert not reply_too_late(pressed, pressed + STAFF_REPLY_TIMEOUT)
    assert reply_too_late(pressed, pressed + STAFF_REPLY_TIMEOUT + timedelta(seconds=1))


# --- broadcasts: what a staff member may plan and send ------------------------------------------

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_tip_is_planned_only_for_a_readable_time_ahead_within_a_year():
    assert broadcasts.when_problem(None, NOW) == "staff/when_unreadable"
    assert broadcasts.when_problem(NOW, NOW) == "staff/when_past"
    assert broadcasts.when_problem(NOW + broadcasts.MAX_AHEAD + timedelta(1), NOW) == (
        "staff/when_too_far"
    )
    assert broadcasts.when_problem(NOW + timedelta(hours=1), NOW) is None


def test_an_audience_is_chosen_only_among_those_that_exist_now():
    segments = ["all", "service:pain_eliminator"]
    key = broadcasts.segment_key("service:pain_eliminator")
    assert broadcasts.segment_for_key(segments, key) == "service:pain_eliminator"
    assert broadcasts.segment_for_key(segments, "service:forged") is None
    assert broadcasts.segment_for_key(["all"], key) is None  # emptied since the list was shown


def test_sending_asks_first_naming_how_many_clients_it_reaches():
    confirm = broadcasts.confirm_send(7, 41)
    assert "41" in confirm.text
    presses = [b.press for row in confirm.buttons for b in row]
    assert broadcasts.BroadcastPress("go", 7) in presses


# --- export: what the clinic's file may hold -----------------------------------------------------


def test_the_export_file_never_runs_a_clients_text_as_a_formula():
    row = export.FunnelRow(
        source='=HYPERLINK("http://evil")',
        created=NOW.date(),
        finished=True,
        band=None,
        tier=None,
        services=(),
        booking_shown=False,
        handoffs=0,
        reminders=None,
        breaks_done=0,
        tips_consent=False,
    )
    words = {"yes": "yes", "no": "no", "setup": "setting up"}
    content = export.to_csv([row], ["h"] * 13, words, bands={}, services={}).decode("utf-8-sig")
    assert "'=HYPERLINK" in content and "\n=HYPERLINK" not in content.replace(",", "\n")
