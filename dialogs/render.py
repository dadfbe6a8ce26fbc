"""The Jinja2 environment for every client-facing text the product writes.

Templates are files under `templates/`, rendered with HTML autoescape (a client's name full of
`<`, `>` and `&` stays text) and StrictUndefined (a missing value is a bug, not a blank).
Button labels live in `buttons.j2` as `{% set %}` values, so no text sits in Python code.

A clinic's content folder may hold a `templates/` folder of its own: a template found there
is used instead of the shipped one of the same name, the rest come from the shipped ones.
Every template sees the clinic's facts as `clinic` (dialogs/clinic.py). The environment in
use is the active content's (`use`): a reload of the content swaps it whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from dialogs import i18n
from dialogs.clinic import Clinic, shipped_clinic

TEMPLATES = Path(__file__).with_name("templates")


def environment_for(clinic: Clinic, overrides: Path | None = None) -> Environment:
    """The templates of a content folder: its `overrides` first, then the shipped ones."""
    folders = [overrides] if overrides is not None else []
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(folder) for folder in [*folders, TEMPLATES]]),
        extensions=["jinja2.ext.i18n"],  # {% trans %} and _(): dialogs/i18n.py
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates change with a deploy or a reload, not while rendering
    )
    env.globals["clinic"] = clinic
    # The language is the one being spoken (i18n.LANGUAGE), looked up at each call. (The
    # i18n extension adds this method: Jinja2's type hints don't know it.)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    return env


class _Active:
    """The environment in use and its button labels, swapped together by `use`."""

    env: Environment | None = None
    buttons: Any = None


_active = _Active()


def use(env: Environment) -> None:
    """Render with `env` from now on (the content just loaded or reloaded)."""
    _active.buttons = env.get_template("buttons.j2").module
    _active.env = env


def environment() -> Environment:
    if _active.env is None:
        use(environment_for(shipped_clinic()))
    assert _active.env is not None
    return _active.env


def render(template: str, **context: Any) -> str:
    """Render `templates/<template>.j2` to Telegram HTML, trimmed of blank edges."""
    return environment().get_template(f"{template}.j2").render(**context).strip()


def render_text(source: str, **context: Any) -> str:
    """Render a template written in the content's data (an FAQ answer), as `render` does."""
    return environment().from_string(source).render(**context).strip()


class _Labels:
    """Button labels and short toasts from `buttons.j2`, e.g. `labels.back`."""

    def __getattr__(self, name: str) -> str:
        environment()
        try:
            return str(getattr(_active.buttons, name))
        except AttributeError:
            raise AttributeError(f"buttons.j2 has no label {name!r}") from None


labels = _Labels()
