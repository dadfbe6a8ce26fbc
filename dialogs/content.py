"""The clinic's content, as one checked whole: its facts and services (`clinic.yaml`), the
questionnaire, the emergency phrases, the tips library and its templates.

The shipped pack (`dialogs/pack/`, the BodyMechanix example) is the default. A clinic's own
folder (`CONTENT_DIR`) overrides it file by file, and its `templates/` folder template by
template; `clinic.yaml` it must have (the shipped clinic's facts are not another clinic's).
Everything is checked before the bot uses it, every template rendered with sample data
(`dialogs.template_check`), so a reload that finds a mistake keeps the old content running.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from jinja2 import Environment

from dialogs import i18n
from dialogs.clinic import PACK, Clinic, load_clinic
from dialogs.content_file import ContentError, Located
from dialogs.emergency import CRISIS, EmergencyPhrasesError, Phrases, load_phrases
from dialogs.faq import Faq
from dialogs.questionnaire import Questionnaire, load_questionnaire
from dialogs.render import environment_for
from dialogs.template_check import check_source, check_templates
from dialogs.tips import LibraryTip, TipLibraryError, load_tips

T = TypeVar("T")

CLINIC, QUESTIONNAIRE = "clinic.yaml", "questionnaire.yaml"
PHRASES, TIPS, FAQ = "emergency.yaml", "tips.yaml", "faq.yaml"
FILES = (CLINIC, QUESTIONNAIRE, PHRASES, TIPS, FAQ)
TEMPLATES = "templates"


@dataclass(frozen=True, eq=False)
class Content:
    """What the clinic says and offers; `folder`: where it came from (None: the shipped pack)."""

    clinic: Clinic
    questionnaire: Questionnaire
    phrases: Phrases
    tips: tuple[LibraryTip, ...]
    faq: Faq
    templates: Environment = field(repr=False)
    folder: Path | None = None

    @property
    def service_names(self) -> dict[str, str]:
        return {sid: service.name for sid, service in self.clinic.services.items()}


def warnings(content: Content) -> list[str]:
    """What still works but a client may notice: a language offered before its catalogue
    translates every text (the rest reach its clients in the source language)."""
    found = []
    for language in content.clinic.languages:
        done, total = i18n.translated(language)
        if language not in i18n.COMPLETE:
            found.append(
                f"clinic.yaml offers {language!r}, whose translation is not complete yet: "
                f"some texts reach its clients in {i18n.SOURCE!r}"
            )
        elif done < total:
            found.append(
                f"clinic.yaml offers {language!r}, but {total - done} of its {total} texts are "
                f"not translated yet: those reach its clients in {i18n.SOURCE!r}"
            )
    return found


def source(folder: Path | None, name: str) -> Path:
    """Where a content file comes from: the clinic's folder if it has one, else the pack."""
    if folder is not None and (folder / name).exists():
        return folder / name
    return PACK / name


def load_content(folder: Path | None = None) -> Content:
    """The content of `folder` over the shipped pack, checked as a whole. Raises ContentError
    with every mistake found (file, line, field), not only the first."""
    if folder is not None and not folder.is_dir():
        raise ContentError([f"{folder}: not a folder (CONTENT_DIR)"])
    if folder is not None and not (folder / CLINIC).is_file():
        raise ContentError(
            [f"{folder / CLINIC}: missing: every clinic writes its own (bmx-bot content init)"]
        )
    problems: list[str] = []
    clinic = _collect(problems, lambda: load_clinic(source(folder, CLINIC)))
    phrases = _collect(problems, lambda: load_phrases(source(folder, PHRASES)))
    tips = _collect(problems, lambda: load_tips(source(folder, TIPS)))
    faq_file = _collect(problems, lambda: Located.read(source(folder, FAQ)))
    faq = _collect(problems, lambda: faq_file.model(Faq)) if faq_file else None
    questionnaire = None
    if clinic is not None:
        path = source(folder, QUESTIONNAIRE)
        questionnaire = _collect(problems, lambda: load_questionnaire(path, clinic.services))
    if questionnaire is not None and phrases is not None:
        # A typed emergency is recorded like the answer naming the same symptom.
        named = {s.id for s in phrases.symptoms if s.tier != CRISIS}
        unnamed = sorted(named - set(questionnaire.symptoms))
        if unnamed:
            problems.append(
                f"{source(folder, QUESTIONNAIRE)}: symptoms: the emergency phrases name "
                f"{', '.join(unnamed)}, missing here"
            )
    if problems or not (clinic and questionnaire and phrases and tips and faq and faq_file):
        raise ContentError(problems)
    for number, language in enumerate(clinic.languages):
        if language not in i18n.languages():
            problems.append(
                f"{source(folder, CLINIC)}: languages.{number}: {language!r} has no catalogue "
                f"(there are: {', '.join(i18n.languages())})"
            )
    if problems:
        raise ContentError(problems)
    overrides = folder / TEMPLATES if folder is not None and (folder / TEMPLATES).is_dir() else None
    templates = environment_for(clinic, overrides)
    content = Content(clinic, questionnaire, phrases, tips, faq, templates, folder)
    problems.extend(check_templates(templates, overrides))
    for number, entry in enumerate(faq.entries):
        if entry.answer is not None:
            where: list[int | str] = ["entries", number, "answer"]
            shown = f"{faq_file.shown}:{faq_file.line(where)}: entries.{number}.answer"
            problems.extend(check_source(templates, entry.answer, shown))
    if problems:
        raise ContentError(problems)
    return content


_TEMPLATES_README = """\
Templates this clinic changes. Copy a template here from the project's dialogs/templates
(same name, same sub-folder) and edit it: it is used instead of the shipped one, and every
template not here comes from the shipped ones. `clinic` gives any template the facts of
clinic.yaml ({{ clinic.name }}, {{ clinic.website }}, {{ clinic.emergency.short }}...).
`bmx-bot check` renders every template with sample data and names any mistake.
"""


def write_copy(folder: Path) -> list[str]:
    """Write the shipped content into `folder` (new, or empty) for a clinic to edit: every
    data file, commented, and a `templates/` folder for the templates it changes."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ContentError([f"{folder}: already exists and is not empty: choose a new folder"])
    try:
        (folder / TEMPLATES).mkdir(parents=True, exist_ok=True)
        for name in FILES:
            (folder / name).write_text((PACK / name).read_text(encoding="utf-8"), encoding="utf-8")
        (folder / TEMPLATES / "README.txt").write_text(_TEMPLATES_README, encoding="utf-8")
    except OSError as exc:
        raise ContentError([f"{folder}: cannot write it ({exc.strerror})"]) from None
    return [*FILES, f"{TEMPLATES}/"]


def content_of(folder: Path | None) -> Content:
    """The content a bot starts with: `folder`'s, or the shipped pack. Checking a folder
    renders every template (most of a second), so the same files are checked once per
    process (several bots in one process, as the tests run them); a reload (SIGHUP) reads
    the folder again with `load_content`."""
    key = _fingerprint(folder)
    if key not in _STARTED:
        if len(_STARTED) >= _STARTED_MAX:
            _STARTED.clear()
        _STARTED[key] = load_content(folder)
    return _STARTED[key]


_STARTED: dict[str, Content] = {}
_STARTED_MAX = 8


def _fingerprint(folder: Path | None) -> str:
    """What the content of `folder` is made of: every file's name and bytes."""
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder is not None else []
    for path in files:
        assert folder is not None
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _collect(problems: list[str], load: Callable[[], T]) -> T | None:
    try:
        return load()
    except ContentError as exc:
        problems.extend(exc.problems)
    except (EmergencyPhrasesError, TipLibraryError) as exc:
        problems.append(str(exc))
    return None
