"""Every template rendered with sample data and checked as Telegram would check the message
(HTML tags, length), before a client ever meets it: a clinic's override with a missing
`</b>` is refused by `bmx-bot check` and by a reload, not answered with an apology.

The sample data is generic, so no list of each template's variables has to be kept: every
value a template asks for and is not given is a `Sample`, which reads as a word, a number,
a date, a list of two and a mapping all at once. Each template is rendered twice, once with
samples that are true and once with samples that are false (empty), so that both sides of
an `{% if %}` are checked. (Hand-written: Jinja2 has no "render with anything" mode.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jinja2 import Environment, TemplateError, TemplateSyntaxError, Undefined

from dialogs.telegram_html import HtmlError, check_message_html

# Templates that hold values or macros for others, not a message of their own.
_NOT_MESSAGES = re.compile(r"(^|/)(_[^/]*|buttons|commands|[^/]*macros)\.j2$")
_END_TAG = re.compile(r'start tag "(\w+)"')


class _Sample(Undefined):
    """A value of any kind, true (`_TRUE`) or empty; see the module's docstring."""

    __slots__ = ()
    truthy = True

    def __str__(self) -> str:
        return "Sample" if self.truthy else ""

    def __bool__(self) -> bool:
        return self.truthy

    def __iter__(self) -> Iterator[Any]:
        return iter((type(self)(), type(self)()) if self.truthy else ())

    def __len__(self) -> int:
        return 2 if self.truthy else 0

    # Jinja2's stubs type Undefined's conversions as always raising (Never): a sample converts.
    def __int__(self) -> int:  # type: ignore[override]
        return 2 if self.truthy else 0

    __index__ = __int__

    def __float__(self) -> float:  # type: ignore[override]
        return float(int(self))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return type(self)()

    def __getitem__(self, key: object) -> Any:
        return type(self)()

    def __call__(self, *args: object, **kwargs: object) -> Any:
        return type(self)()

    # Arithmetic gives another sample, an order comparison says `truthy`. (Assigned, as
    # Jinja2's Undefined assigns them; its stubs type them as always raising.)
    def _same(self, *other: object) -> Any:
        return type(self)()

    def _compare(self, other: object) -> bool:
        return self.truthy

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _same
    __mod__ = __rmod__ = __neg__ = __pos__ = _same
    __lt__ = __le__ = __gt__ = __ge__ = _compare  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Sample)

    def __hash__(self) -> int:
        return 0


class _Empty(_Sample):
    __slots__ = ()
    truthy = False


def check_templates(env: Environment, overrides: Path | None) -> list[str]:
    """Each template's problems, one line each naming the file (and the line, where known)."""
    problems = []
    for name in sorted(env.list_templates(extensions=["j2"])):
        shown = _where(name, overrides)
        try:
            texts = [_render(env, name, sample) for sample in (_Sample, _Empty)]
        except TemplateSyntaxError as exc:
            problems.append(f"{shown}:{exc.lineno}: {exc.message}")
            continue
        except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
            problems.append(f"{shown}: cannot be rendered with sample data: {exc}")
            continue
        if _NOT_MESSAGES.search(name):
            continue
        for text in texts:
            if not text:
                continue  # a template that says nothing in this case (the caller sends none)
            try:
                check_message_html(text)
            except HtmlError as exc:
                line = _line_of(env, name, str(exc))
                problems.append(f"{shown}{f':{line}' if line else ''}: {_telegram_says(exc)}")
                break
    return problems


def _render(env: Environment, name: str, sample: type[Undefined]) -> str:
    overlay = env.overlay(undefined=sample)
    return overlay.get_template(name).render().strip()


def _where(name: str, overrides: Path | None) -> str:
    if overrides is not None and (overrides / name).is_file():
        return str(overrides / name)
    return f"templates/{name} (shipped)"


def _telegram_says(exc: HtmlError) -> str:
    return f"Telegram would refuse the message: {exc}"


def _line_of(env: Environment, name: str, message: str) -> int | None:
    """The source line of an unclosed tag: the first line that opens it more than it closes
    it. (Telegram names the byte of the rendered message, not of the template.)"""
    match = _END_TAG.search(message)
    source = env.loader.get_source(env, name)[0] if env.loader is not None else ""
    if match is None:
        return None
    tag = match[1]
    for number, text in enumerate(source.splitlines(), start=1):
        opened = len(re.findall(rf"<{tag}(?:\s[^>]*)?>", text))
        if opened > len(re.findall(rf"</{tag}>", text)):
            return number
    return None
