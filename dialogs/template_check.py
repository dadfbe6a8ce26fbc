"""Every template rendered with sample data, in every language, and checked as Telegram
would check the message (HTML tags, length), before a client ever meets it: a clinic's
override with a missing `</b>` is refused by `bmx-bot check` and by a reload, not answered
with an apology.

The sample data is generic, so no list of each template's variables has to be kept: every
value a template asks for and is not given is a `Sample`, which reads as a word, a number,
a date, a list of two and a mapping all at once. Each template is rendered twice, once with
samples that are true and once with samples that are false (empty), so that both sides of
an `{% if %}` are checked. (Hand-written: Jinja2 has no "render with anything" mode.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Any

from jinja2 import Environment, Template, TemplateError, TemplateSyntaxError, Undefined

from dialogs import i18n
from dialogs.telegram_html import HtmlError, check_message_html

# Templates that hold values or macros for others, not a message of their own.
_NOT_MESSAGES = re.compile(r"(^|/)(_[^/]*|buttons|commands|[^/]*macros)\.j2$")
_END_TAG = re.compile(r'start tag "(\w+)"')


# Whether samples are true (a word, a list of two) or empty in the render under way: one
# compiled template is rendered both ways (compiling takes most of the check's time).
_TRUTHY: ContextVar[bool] = ContextVar("samples_are_true", default=True)


class _Sample(Undefined):
    """A value of any kind, true or empty (`_TRUTHY`); see the module's docstring."""

    __slots__ = ()

    @property
    def truthy(self) -> bool:
        return _TRUTHY.get()

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


def check_templates(env: Environment, overrides: Path | None) -> list[str]:
    """Each template's problems, one line each naming the file (and the line, where known)."""
    problems = []
    samples = env.overlay(undefined=_Sample)
    for name in sorted(env.list_templates(extensions=["j2"])):
        source = env.loader.get_source(env, name)[0] if env.loader is not None else ""
        message = not _NOT_MESSAGES.search(name)
        shown = _where(name, overrides)
        found = _check(partial(samples.get_template, name), source, shown, message=message)
        if not found and name in _MENUS:
            found = _MENUS[name](vars(env.get_template(name).module), _where(name, overrides))
        problems += found
    return problems


def _labels(values: dict[str, Any], shown: str) -> list[str]:
    """Button labels as Telegram takes them: some text, on one line."""
    return [
        f"{shown}: label {name!r} {'is empty' if not value.strip() else 'has a line break'}: "
        "Telegram shows a button's text on one line, and refuses one without text"
        for name, value in values.items()
        if isinstance(value, str)
        and not name.startswith("_")
        and (not value.strip() or "\n" in value)
    ]


def _commands(values: dict[str, Any], shown: str) -> list[str]:
    """The command menu as setMyCommands takes it: names of 1-32 lowercase letters, digits
    and _, descriptions of 1-256 characters."""
    problems = []
    for listing in ("commands", "staff_commands"):
        for command, description in values.get(listing, []):
            if not _COMMAND.match(command):
                problems.append(f"{shown}: {listing}: {command!r} is not a command name")
            if not 1 <= len(description.strip()) <= 256:
                problems.append(f"{shown}: {listing}: /{command} needs 1 to 256 characters")
    return problems


_MENUS = {"buttons.j2": _labels, "commands.j2": _commands}
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


def check_source(env: Environment, source: str, shown: str) -> list[str]:
    """The problems of a template written in the content's data (shown as `shown`)."""
    samples = env.overlay(undefined=_Sample)
    return _check(partial(samples.from_string, source), source, shown, message=True)


def _check(
    compiled: Callable[[], Template], source: str, shown: str, *, message: bool
) -> list[str]:
    """The problems of one template (its `source` shown as `shown`, with the line where
    known): it must render with sample data, and (a `message`) be one Telegram accepts."""
    try:
        template = compiled()
        texts = [
            _render(template, truthy, language)
            for language in i18n.languages()
            for truthy in (True, False)
        ]
    except TemplateSyntaxError as exc:
        return [f"{shown}:{exc.lineno}: {exc.message}"]
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        return [f"{shown}: cannot be rendered with sample data: {exc}"]
    for text in texts if message else ():
        if not text:
            continue  # a template that says nothing in this case (the caller sends none)
        try:
            check_message_html(text)
        except HtmlError as exc:
            line = _line_of(source, str(exc))
            return [f"{shown}{f':{line}' if line else ''}: {_telegram_says(exc)}"]
    return []


def _render(template: Template, truthy: bool, language: str) -> str:
    token = _TRUTHY.set(truthy)
    try:
        with i18n.speaking(language):
            return template.render().strip()
    finally:
        _TRUTHY.reset(token)


def _where(name: str, overrides: Path | None) -> str:
    if overrides is not None and (overrides / name).is_file():
        return str(overrides / name)
    return f"templates/{name} (shipped)"


def _telegram_says(exc: HtmlError) -> str:
    return f"Telegram would refuse the message: {exc}"


def _line_of(source: str, message: str) -> int | None:
    """The source line of an unclosed tag: the first line that opens it more than it closes
    it. (Telegram names the byte of the rendered message, not of the template.)"""
    match = _END_TAG.search(message)
    if match is None:
        return None
    tag = match[1]
    for number, text in enumerate(source.splitlines(), start=1):
        opened = len(re.findall(rf"<{tag}(?:\s[^>]*)?>", text))
        if opened > len(re.findall(rf"</{tag}>", text)):
            return number
    return None
