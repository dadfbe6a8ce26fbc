"""The tips library: the shipped tips are fit to send and cover the clinic's topics; broken
files are reported with the file, the tip and the problem."""

import re
from pathlib import Path

import pytest
import yaml

from dialogs.staff_text import check_tip, render_tip
from dialogs.telegram_html import parse_html
from dialogs.tips import (
    DEFAULT_PATH,
    TITLE_MAX,
    LibraryTip,
    TipLibraryError,
    find_tip,
    load_tips,
)

NAME = "Zoë <b>&"
TOPICS = {  # required topic -> (tip id, a word its text must use)
    "glute activation": ("glute_squeeze", "squeeze"),
    "glute bridge": ("glute_bridge", "bridge"),
    "breaking up sitting": ("move_hourly", "every hour"),
    "the back doing the glutes' job": ("why_back_hurts", "glutes' job"),
    "taking the stairs": ("stairs", "heel"),
    "sit-to-stand": ("sit_to_stand", "heels"),
}


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "tips.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_shipped_tips_pass_check_tip_and_escape_the_name() -> None:
    tips = load_tips()
    assert 6 <= len(tips) <= 8
    for tip in tips:
        check_tip(tip.text)
        rendered = render_tip(tip.text, NAME)
        assert "Zoë &lt;b&gt;&amp;" in rendered, tip.id
        assert "<b>&" not in rendered, tip.id
        assert "{{" not in rendered and "}}" not in rendered, tip.id


def test_shipped_tips_are_short_and_use_only_bold_and_italic() -> None:
    for tip in load_tips():
        shown = parse_html(render_tip(tip.text, "Sam")).text
        assert 300 <= len(shown) <= 700, (tip.id, len(shown))
        assert set(re.findall(r"</?([a-z-]+)", tip.text)) <= {"b", "i"}, tip.id
        assert "{{ first_name }}" in tip.text, tip.id


def test_ids_are_unique_and_titles_fit_a_button() -> None:
    tips = load_tips()
    ids = [t.id for t in tips]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9_]{1,24}", i) for i in ids)
    for tip in tips:
        assert 0 < len(tip.title) <= TITLE_MAX, tip.title
        assert "\n" not in tip.title


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_each_required_topic_is_covered(topic: str) -> None:
    tip_id, word = TOPICS[topic]
    tip = find_tip(load_tips(), tip_id)
    assert tip is not None, topic
    assert word in tip.text.lower(), topic


def test_find_tip_and_the_default_is_loaded_once() -> None:
    tips = load_tips()
    assert load_tips() is tips
    assert isinstance(find_tip(tips, "stairs"), LibraryTip)
    assert find_tip(tips, "gone") is None
    assert load_tips(DEFAULT_PATH) == tips


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["tips"][4].update(text="Hi!\nTake the stairs,\n{{ frist_name }}."),
            "tip 'stairs': Line 3: unknown placeholder {{ frist_name }}",
        ),
        (
            lambda d: d["tips"][1].update(id="stairs"),
            "tip 'stairs': the id is used twice",
        ),
        (lambda d: d["tips"][2].pop("title"), "tip 'move_hourly': missing title"),
        (lambda d: d["tips"][2].update(title="   "), "tip 'move_hourly': title is empty"),
        (
            lambda d: d["tips"][0].update(title="x" * 41),
            "tip 'glute_squeeze': title is 41 characters, at most 40",
        ),
        (lambda d: d["tips"][0].update(id="Glute-Squeeze"), "tip 'Glute-Squeeze': id "),
        (lambda d: d["tips"][3].pop("id"), "tip #4 (no id): missing id"),
        (
            lambda d: d["tips"][3].update(text="Hi {{ first_name }}, I <3 glutes"),
            "tip 'why_back_hurts': Telegram would refuse its formatting (Unsupported start tag",
        ),
        (lambda d: d["tips"][5].update(color="red"), "tip 'sit_to_stand': unknown field 'color'"),
        (lambda d: d.update(tips=[]), "tips: "),
    ],
)
def test_broken_library_names_the_file_tip_and_problem(
    tmp_path: Path,
    raw: dict,
    change,  # type: ignore[no-untyped-def]
    message: str,
) -> None:
    change(raw)
    path = write(tmp_path, raw)
    with pytest.raises(TipLibraryError, match=re.escape(message)) as caught:
        load_tips(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)


def test_bad_yaml_names_the_line_and_tip(tmp_path: Path) -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace(
        'title: "Stairs: push through the heel"', "title: Stairs: push through the heel", 1
    )
    path = tmp_path / "tips.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TipLibraryError, match=r"line \d+ \(in tip 'stairs'\): not valid YAML"):
        load_tips(path)
    path.write_text("tips: [", encoding="utf-8")
    with pytest.raises(TipLibraryError, match="not valid YAML") as caught:
        load_tips(path)
    assert "\n" not in str(caught.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(TipLibraryError, match="cannot read"):
        load_tips(tmp_path / "missing.yaml")
