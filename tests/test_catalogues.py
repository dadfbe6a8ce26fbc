"""The catalogues of the texts (dialogs/i18n.py): what `make catalogs` extracts is what is
committed, and every translation says what its message says in a form Telegram takes."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from dialogs import i18n
from dialogs.render import render
from dialogs.telegram_html import parse_html

ROOT = Path(__file__).parent.parent
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_TAG = re.compile(r"</?\w+")


def extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = extract_from_dir(str(ROOT), method_map, options_map)
    return {message if isinstance(message, str) else message[0] for _, _, message, *_ in found}


def committed(path: Path) -> dict[str, str]:
    with path.open("rb") as file:
        return {m.id: m.string for m in read_po(file) if m.id and isinstance(m.id, str)}


def test_the_committed_catalogue_holds_every_text_the_templates_mark() -> None:
    assert extracted() == set(committed(i18n.LOCALE_DIR / "messages.pot")), "run make catalogs"


def test_every_translation_keeps_its_placeholders_and_tags() -> None:
    assert i18n.languages()[1:], "a catalogue besides the source language"
    for language in i18n.languages()[1:]:
        for message, translation in committed(i18n.catalogue_path(language)).items():
            if not translation:
                continue
            assert sorted(_PLACEHOLDER.findall(translation)) == sorted(
                _PLACEHOLDER.findall(message)
            ), (language, message)
            assert sorted(_TAG.findall(translation)) == sorted(_TAG.findall(message))
            parse_html(_PLACEHOLDER.sub("x", translation))


def test_a_text_is_rendered_in_the_language_being_spoken() -> None:
    with i18n.speaking("es"):
        spanish = render("welcome", name="Ana <3")
    assert spanish.startswith("¡Hola, Ana &lt;3! 👋 Soy el asistente de BodyMechanix.")
    assert "<b>síndrome del glúteo perezoso</b>" in spanish
    assert render("welcome", name="Ana").startswith("Hi Ana! 👋"), "English outside the block"
    with i18n.speaking("xx"):  # no catalogue: the messages as written
        assert render("welcome", name="Ana").startswith("Hi Ana! 👋")
