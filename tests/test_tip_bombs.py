"""Tips that try to exhaust the bot (issue 9, part 4): every known bomb is refused at once, by a
limit that names the line the staff member reads, before its text is made, in a few MB at most;
the check itself runs in a child process with time and memory limits, and the bot answers
everyone meanwhile."""

from __future__ import annotations

import html
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import psutil
import pytest

from bot.cases import tips
from bot.runner import RunningBot
from bot.sandbox.users import SimUser
from dialogs.render import render
from dialogs.staff_text import (
    CHECK_MEMORY,
    CHECK_SECONDS,
    TipError,
    check_answer,
    check_environment,
    check_tip,
    render_tip,
)
from storage.models import Broadcast
from tests.flows import rows

SET_X = '{% set a = "x" %}\n'
DOUBLING = SET_X + "{% set a = a ~ a %}\n" * 22  # 461 characters: once 50 MB, line by line
FMT_900 = '{% set f = "%(a)8000s" * 900 %}{{ f % {"a": "x"} }}'  # 7 MB of spaces, once
PAIRS = "{% set a = (1,) %}{% set b = (1,) %}\n" + "{% set a = (a, a) %}{% set b = (b, b) %}\n" * 60

# (template, line, what the staff member reads after "Nothing was sent")
BOMBS = {
    "~ doubling": (DOUBLING, 15, "too big to check: line 15, ~ makes a text of over 8192"),
    "+ doubling": (DOUBLING.replace("~", "+"), 15, "line 15, + makes a text of over 8192"),
    "{% set %} block doubling": (
        SET_X + "{% set a %}{{ a }}{{ a }}{% endset %}\n" * 22,
        15,
        "line 15, this block makes a text of over 8192",
    ),
    "list doubling": (SET_X + "{% set a = [a, a] %}\n" * 40, 7, "a list here holds over 100"),
    # Equal but distinct nested tuples: comparing them would take 2**60 steps, in no memory.
    "tuples compared": (PAIRS + "{{ a == b }}", 7, "a list here holds over 100 items"),
    "% width": ('{{ "%50000000s" % "x" }}', 1, "% asks for a width or precision of 50000000"),
    "% precision": ('\n{{ "%.50000000f" % 1.0 }}', 2, "width or precision of 50000000"),
    "% star": ('{{ "%*s" % (50000000, "x") }}', 1, "a width or precision from the values"),
    "% many": (FMT_900, 1, "% makes a text of over 8192 characters"),
    "* 10**9": ('{{ "x" * 10**9 }}', 1, "powers are not allowed"),
    "* 1000000000": ('{{ "x" * 1000000000 }}', 1, "* makes a text of over 8192"),
    "list * 10**8": ("{{ 100000000 * [0] }}", 1, "* makes a text of over 8192"),
    "int squaring": (
        "{% set n = 99999999999 %}" + "{% set n = n * n %}" * 30,
        1,
        "* makes a text of over 8192",
    ),
    "upper of ß": ('{% set a = "ß" * 5000 %}{{ a|upper }}', 1, "the filter upper makes"),
    "escape": ('{{ ("&" * 4000)|e }}', 1, "the filter e makes a text of over 8192"),
    "slices joined": ('{% set a = "x" * 8000 %}{{ a[:] ~ a[:] }}', 1, "~ makes a text"),
    "work along the way": (
        '{% set a = "x" * 8000 %}\n' + '{% set b = a ~ "" %}\n' * 20,
        17,
        "it makes over 131072 characters of text along the way",
    ),
    "printed twice": ('{% set a = "x" * 8000 %}{{ a }}{{ a }}', None, "too long for Telegram"),
    "join": ('{{ ["x"] * 1000000000 | join("") }}', 1, "No filter named 'join'"),
    "center": ("{{ first_name|center(1000000000) }}", 1, "No filter named 'center'"),
    "format": ('{{ "%s"|format("x" * 1000000000) }}', 1, "No filter named 'format'"),
    "indent": ("{{ first_name|indent(1000000000) }}", 1, "No filter named 'indent'"),
    "range": ("{{ range(1000000000) }}", 1, "not loops, macros or function calls"),
    "loop on range": (
        "{% for i in range(1000000000) %}x{% endfor %}",
        1,
        "not loops, macros or function calls",
    ),
    "nesting": ("{{ " + "-" * 2000 + "1 }}", None, "too big to check: it is nested too deeply"),
}


def said(error: TipError) -> str:
    return html.unescape(render("staff/tip_problem", error=error))


@pytest.mark.parametrize(("template", "line", "words"), BOMBS.values(), ids=list(BOMBS))
def test_each_bomb_is_refused_at_once_in_little_memory(
    template: str, line: int | None, words: str
) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TipError) as caught:
            check_tip(template)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Refused by the limit that names the line and the words, before making the bomb's text
    # (a bomb that ran would not finish: the suite's timeout catches that).
    assert caught.value.line == line
    assert words in said(caught.value)
    # Measured: 0.01-3 MB, tracing included.
    assert peak < 8 * 2**20


def test_the_limits_hold_for_every_client_not_just_at_the_check() -> None:
    """The check renders for one long name; a branch only some names take is bounded too,
    so sending the tip to Bob fails for Bob, at once, and no one else."""
    bomb = "{% set a = a ~ a %}\n" * 22
    template = "Hi {{ first_name }}!\n" + SET_X + '{% if first_name == "Bob" %}\n' + bomb
    template += "{% endif %}"
    check_tip(template)
    assert render_tip(template, "Alice") == "Hi Alice!"
    with pytest.raises(TipError, match="~ makes a text") as caught:
        render_tip(template, "Bob")
    assert caught.value.kind == "size" and caught.value.line == 17, "stopped by the limit"


def test_the_checking_process_has_a_memory_and_cpu_limit() -> None:
    """What `python -m dialogs.staff_text` sets for itself before it reads the tip."""
    code = (
        "import resource\n"
        "from dialogs.staff_text import _limit_this_process\n"
        "_limit_this_process()\n"
        "print(resource.getrlimit(resource.RLIMIT_CPU)[0])\n"
        f"try:\n    b = bytearray({CHECK_MEMORY + 2**20})\n"
        "except MemoryError:\n    print('MemoryError')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert out == [str(CHECK_SECONDS), "MemoryError"]


def test_a_check_that_stopped_half_way_reads_as_too_big() -> None:
    for output in (b"", b'{"err', b"[]"):
        error = check_answer(output)
        assert error is not None and error.kind == "size"
        assert "too big to check: the check stopped before it was done" in said(error)
    assert check_answer(b'{"error": null}') is None


# --- end to end: the real bot and the emulator --------------------------------------------------


async def test_a_bomb_sent_to_broadcast_is_refused_and_nothing_is_saved(
    bot: RunningBot, staff: SimUser, alice: SimUser
) -> None:
    await staff.send("/broadcast")
    await staff.expect("Send me the tip")
    await staff.send(DOUBLING + "Hi {{ first_name }}")
    await alice.send("/help")
    await alice.expect("What I can do")
    problem = await staff.expect("Nothing was sent", timeout=15)
    # Refused by the check's size limit, naming the line; not stopped after CHECK_SECONDS.
    assert "too big to check: line 15, ~ makes a text of over 8192" in problem.shown_text
    [draft] = await rows(bot, Broadcast)
    assert (draft.status, draft.template) == ("compose", None)
    await staff.send('{{ "%50000000s" % "x" }}')
    problem = await staff.expect("Nothing was sent")
    assert "line 1, % asks for a width or precision of 50000000" in problem.shown_text
    await staff.send("Fixed: hello {{ first_name }}")
    await staff.expect("Audience:")


async def test_a_check_that_takes_too_long_is_stopped_and_the_bot_answers_meanwhile(
    bot: RunningBot, staff: SimUser, alice: SimUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that never ends (here a child that sleeps): the staff member is told after
    CHECK_SECONDS, the child is killed, and a client is answered while it runs."""
    sleeper = (sys.executable, "-c", "import time; time.sleep(120)  # tip-check-sleeper")
    monkeypatch.setattr(tips, "CHECK_COMMAND", sleeper)
    monkeypatch.setattr(tips, "CHECK_SECONDS", 4)
    await staff.send("/broadcast")
    await staff.expect("Send me the tip")
    await staff.send("Hi {{ first_name }}")
    await alice.send("/help")
    await alice.expect("What I can do")
    assert not [m for m in staff.bot_messages() if "Nothing was sent" in m.shown_text], (
        "Alice was answered while the check ran, not after it"
    )
    problem = await staff.expect("Nothing was sent", timeout=10.0)
    assert "too big to check: checking it took over 4 seconds" in problem.shown_text
    children = psutil.Process().children(recursive=True)
    assert not [p for p in children if "tip-check-sleeper" in " ".join(p.cmdline())]
    [draft] = await rows(bot, Broadcast)
    assert draft.template is None


SECRETS = {
    "BOT_TOKEN": "7654321:child-must-not-see-this-token-000000",
    "DATABASE_URL": "postgresql+psycopg://bmx:db-password@db.internal/bmx",
    "WEBHOOK_SECRET": "child-must-not-see-this-secret",
    "AWS_SECRET_ACCESS_KEY": "anything-else-of-the-host",
}


def test_the_check_child_gets_only_python_and_locale_variables() -> None:
    environ = {
        **SECRETS,
        "PATH": "/usr/bin",
        "PYTHONPATH": "/srv/lib",
        "LANG": "en_GB.UTF-8",
        "LC_ALL": "en_GB.UTF-8",
        "HOME": "/root",
    }
    assert check_environment(environ) == {
        "PATH": "/usr/bin",
        "PYTHONPATH": "/srv/lib",
        "LANG": "en_GB.UTF-8",
        "LC_ALL": "en_GB.UTF-8",
    }


async def test_the_check_child_sees_none_of_the_bots_secrets(
    bot: RunningBot,
    staff: SimUser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real check, started as the bot starts it, from a bot whose environment holds its
    secrets: a `sitecustomize` on PYTHONPATH (which the child keeps) writes down what the
    child's environment holds, and the tip is checked as usual."""
    (tmp_path / "sitecustomize.py").write_text(
        "import json, os\n"
        f"open({str(tmp_path / 'seen.json')!r}, 'w').write(json.dumps(dict(os.environ)))\n"
    )
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    await staff.send("/broadcast")
    await staff.expect("Send me the tip")
    await staff.send("Hi {{ first_name }}")
    await staff.expect("Audience:", timeout=15)
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["PYTHONPATH"] == str(tmp_path)
    for name, value in SECRETS.items():
        assert name not in seen
        assert value not in json.dumps(seen)
