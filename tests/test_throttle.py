"""The per-chat throttle, by plain function calls: a burst, one note, then silence until the
bucket refills; other chats untouched; an emergency still heard; memory stays flat."""

from bot.throttle import EMERGENCY_EVERY, ChatThrottle, Verdict


def test_a_burst_then_one_note_then_silence_until_it_refills() -> None:
    throttle = ChatThrottle(per_minute=6, burst=4)
    verdicts = [throttle.check(1, 0.0) for _ in range(10)]
    assert verdicts == [Verdict.ALLOW] * 4 + [Verdict.WARN] + [Verdict.DROP] * 5
    assert throttle.check(2, 0.0) is Verdict.ALLOW, "another chat is not affected"
    assert throttle.check(1, 5.0) is Verdict.DROP, "not yet a whole message back"
    assert throttle.check(1, 10.0) is Verdict.ALLOW, "one every 10 s at 6 a minute"
    assert throttle.check(1, 10.5) is Verdict.DROP, "one note per flood, not per token"
    assert throttle.check(1, 60.0) is Verdict.ALLOW, "calm again: the bucket is full"
    assert [throttle.check(1, 60.1) for _ in range(4)][-1] is Verdict.WARN, "a new flood"


def test_a_steady_human_pace_is_never_throttled() -> None:
    throttle = ChatThrottle(per_minute=8, burst=8)
    assert all(throttle.check(1, t * 8.0) is Verdict.ALLOW for t in range(200))


def test_an_emergency_gets_through_once_a_minute() -> None:
    throttle = ChatThrottle(per_minute=6, burst=1)
    assert throttle.check(1, 0.0) is Verdict.ALLOW
    assert throttle.check(1, 0.1, emergency=True) is Verdict.ALLOW
    assert throttle.check(1, 0.2, emergency=True) is Verdict.WARN
    assert throttle.check(1, EMERGENCY_EVERY + 0.1, emergency=True) is Verdict.ALLOW


def test_idle_chats_are_forgotten() -> None:
    throttle = ChatThrottle(per_minute=60, burst=2)
    for chat in range(5000):
        throttle.check(chat, chat * 0.01)
    assert len(throttle) < 2100, "chats whose bucket refilled are swept"


def test_trying_every_command_in_the_menu_is_not_a_flood() -> None:
    """Someone exploring (18 commands in 40 seconds) is answered every time, by default."""
    throttle = ChatThrottle()
    assert all(throttle.check(1, t * 40 / 18) is Verdict.ALLOW for t in range(18))
