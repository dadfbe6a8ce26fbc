"""Which language a text is written in, and the catalogues that translate it.

Every client-facing text is a message of a gettext catalogue: templates mark theirs with
Jinja2's i18n extension (`{% trans %}…{% endtrans %}`, `_()`), and `make catalogs` extracts
them with Babel into `locale/messages.pot` and merges them into each language's
`locale/<language>/LC_MESSAGES/messages.po`. The .po files are read directly (compiled in
memory with Babel), so no compiled file is kept beside them.

The language of what is being rendered is a context variable (`speaking`): set once for an
update or a recipient, it follows the work into tasks and the database thread, so no render
call passes it along. English is the source language: its texts are the messages themselves.
"""

from __future__ import annotations

import gettext as stdlib_gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SOURCE = "en"  # the language the templates are written in
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGE: ContextVar[str] = ContextVar("language", default=SOURCE)
# The languages every text of the product is written or translated in. Others may have a
# catalogue while their translation is under way (`bmx-bot check` warns a clinic offering one).
COMPLETE = frozenset({SOURCE})


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Render in `language` within this block (and the tasks it starts)."""
    token = LANGUAGE.set(language)
    try:
        yield
    finally:
        LANGUAGE.reset(token)


def languages() -> tuple[str, ...]:
    """The source language and every language with a catalogue."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))
    return (SOURCE, *(language for language in found if language != SOURCE))


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> stdlib_gettext.NullTranslations:
    """The language's catalogue (the source language, or one without a catalogue: the
    messages as written)."""
    path = catalogue_path(language)
    if language == SOURCE or not path.is_file():
        return stdlib_gettext.NullTranslations()
    with path.open("rb") as file:
        catalogue = read_po(file, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return stdlib_gettext.GNUTranslations(compiled)


@cache
def translated(language: str) -> tuple[int, int]:
    """(translated, all) texts of the language's catalogue; the source language has all."""
    with (LOCALE_DIR / "messages.pot").open("rb") as file:
        total = sum(1 for m in read_po(file) if m.id)
    if language == SOURCE:
        return total, total
    path = catalogue_path(language)
    if not path.is_file():
        return 0, total
    with path.open("rb") as file:
        done = sum(1 for m in read_po(file) if m.id and m.string and not m.fuzzy)
    return done, total


def gettext(message: str) -> str:
    return translations(LANGUAGE.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(LANGUAGE.get()).ngettext(singular, plural, n)
