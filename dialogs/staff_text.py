"""Tips written by staff: Telegram HTML with Jinja2 placeholders, rendered per client.

Staff text is not ours, so it runs in Jinja2's immutable sandbox (no attribute tricks, no
changing data) with HTML autoescape (a client named `<b>&` stays text). Everything is checked
when the staff member sends the tip, before any client could see it: the template compiles,
names only known placeholders, and renders, for the longest name Telegram allows, to HTML
Telegram accepts within its length limit. A fault comes back as one line naming the line.
"""

from __future__ import annotations

import html
import re
import traceback
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from dialogs.telegram_html import MAX_CAPTION, MAX_TEXT, HtmlError, check_message_html

# What a tip may name, with what the check renders for it. Telegram's first names are at
# most 64 characters; the sample is the worst case for escaping and length.
PLACEHOLDERS = ("first_name",)
_LONGEST_NAME = "&<>" * 21 + "A"
_JINJA_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


class TipError(ValueError):
    """What is wrong with a tip, for the staff member: `line` (1-based) when known."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class Tip:
    """A checked tip: its template and whether it is a photo caption (shorter limit)."""

    template: str
    caption: bool = False

    def render(self, first_name: str) -> str:
        return _compiled(self.template).render(first_name=first_name).strip()


def from_telegram_html(text_html: str) -> str:
    """A message's HTML (PTB's `text_html`) as a template: Telegram's HTML escapes quotes and
    `<>&` everywhere, but inside `{{ }}` and `{% %}` they belong to the template language."""
    return _JINJA_RE.sub(lambda m: html.unescape(m.group(0)), text_html)


def to_telegram_html(template: str) -> str:
    """The template shown back to staff (to copy and edit): valid Telegram HTML again."""
    return _JINJA_RE.sub(lambda m: html.escape(m.group(0), quote=False), template)


def check_tip(template: str, *, caption: bool = False) -> Tip:
    """The tip if it is fit to send to every client; TipError saying why not."""
    env = _environment()
    try:
        tree = env.parse(template)
        unknown = sorted(meta.find_undeclared_variables(tree) - set(PLACEHOLDERS))
    except TemplateSyntaxError as exc:  # also an unknown filter or test
        raise TipError(exc.message or "the template cannot be read", exc.lineno) from None
    if unknown:
        name = unknown[0]
        raise TipError(f"unknown placeholder {{{{ {name} }}}}", _line_of(tree, name))
    tip = Tip(template, caption)
    try:
        rendered = tip.render(_LONGEST_NAME)
    except Exception as exc:  # staff text may fail in any way (1/0, a wrong filter...)
        reason = exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)
        raise TipError(reason or type(exc).__name__, _template_line(exc)) from None
    try:
        check_message_html(rendered, limit=MAX_CAPTION if caption else MAX_TEXT)
    except HtmlError as exc:
        raise TipError(str(exc)) from None
    return tip


class _TipEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, also refusing `**` and huge repetitions (`"x" * 10**9`), which the stock
    sandbox lets through and which would stall the bot."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("powers are not allowed in tips")
        if isinstance(left, int | float) and isinstance(right, int | float):
            return left * right
        if max(abs(v) for v in (left, right) if isinstance(v, int)) > MAX_TEXT:
            raise SecurityError("that repetition would make the tip too long")
        return left * right


@lru_cache(maxsize=16)  # a broadcast renders one template for thousands of clients
def _compiled(template: str) -> Template:
    return _environment().from_string(template)


@cache
def _environment() -> ImmutableSandboxedEnvironment:
    return _TipEnvironment(autoescape=True, undefined=StrictUndefined)


def _line_of(tree: nodes.Template, name: str) -> int | None:
    for node in tree.find_all(nodes.Name):
        if node.name == name:
            return node.lineno
    return None


def _template_line(exc: BaseException) -> int | None:
    """The template line a runtime error happened on (Jinja2 rewrites the traceback so the
    template's frames carry its own line numbers)."""
    frames = traceback.extract_tb(exc.__traceback__)
    lines = [f.lineno for f in frames if f.filename == "<template>"]
    return lines[-1] if lines else None
