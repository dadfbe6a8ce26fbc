"""The Jinja2 environment for every client-facing text the product writes.

Templates are files under `templates/`, rendered with HTML autoescape (a client's name full of
`<`, `>` and `&` stays text) and StrictUndefined (a missing value is a bug, not a blank).
Button labels live in `buttons.j2` as `{% set %}` values, so no text sits in Python code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).with_name("templates")


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates change with a deploy, not while running
    )
    return env


def render(template: str, **context: Any) -> str:
    """Render `templates/<template>.j2` to Telegram HTML, trimmed of blank edges."""
    return environment().get_template(f"{template}.j2").render(**context).strip()


class _Labels:
    """Button labels and short toasts from `buttons.j2`, e.g. `labels.back`."""

    def __getattr__(self, name: str) -> str:
        try:
            return str(getattr(_buttons(), name))
        except AttributeError:
            raise AttributeError(f"buttons.j2 has no label {name!r}") from None


@cache
def _buttons() -> object:
    return environment().get_template("buttons.j2").module


labels = _Labels()
