"""Tips written by staff: Telegram HTML with Jinja2 placeholders, rendered per client.

Staff text is not ours, so it runs in Jinja2's immutable sandbox (no attribute tricks, no
changing data) with HTML autoescape (a client named `<b>&` stays text), and with only what a
tip needs: the placeholders, a few text filters, `if`. No loops, macros or global functions,
and no output past twice Telegram's limit, so no tip can keep the bot busy. Everything is
checked when the staff member sends the tip, before any client could see it: the template
compiles, names only known placeholders, and renders, for the longest name Telegram allows,
to HTML Telegram accepts within its length limit. A fault is a TipError: a kind (worded in
`templates/staff/tip_problem.j2`), a detail and the line.
"""

from __future__ import annotations

import html
import re
import traceback
from functools import cache, lru_cache
from typing import Any

from jinja2 import (
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    meta,
    nodes,
)
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from dialogs.telegram_html import MAX_CAPTION, MAX_TEXT, HtmlError, check_message_html

# What a tip may name. Telegram's first names are at most 64 characters; the check renders
# the worst case for escaping and length.
PLACEHOLDERS = ("first_name",)
_LONGEST_NAME = "&<>" * 21 + "A"
_JINJA_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_FILTERS = ("capitalize", "default", "d", "escape", "e", "lower", "title", "trim", "upper")
_REFUSED = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.Call)
_MAX_OUTPUT = 2 * MAX_TEXT


class TipError(ValueError):
    """What is wrong with a tip. `kind`: syntax, unknown, unsupported, unsafe, error, html
    or length; `detail`: the specifics (Jinja2's or Telegram's words, or a name)."""

    def __init__(self, kind: str, detail: str = "", line: int | None = None) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
        self.line = line


def render_tip(template: str, first_name: str) -> str:
    """The tip for one client. Raises TipError if it cannot be rendered for this name."""
    parts: list[str] = []
    size = 0
    try:
        for part in _compiled(template).generate(first_name=first_name):
            size += len(part)
            if size > _MAX_OUTPUT:
                raise TipError("length", f"over {_MAX_OUTPUT} characters")
            parts.append(part)
    except TipError:
        raise
    except SecurityError as exc:
        raise TipError("unsafe", str(exc), _template_line(exc)) from None
    except Exception as exc:  # staff text may fail in any way (1/0, a wrong value...)
        detail = exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)
        raise TipError("error", detail or type(exc).__name__, _template_line(exc)) from None
    return "".join(parts).strip()


def from_telegram_html(text_html: str) -> str:
    """A message's HTML (PTB's `text_html`) as a template: Telegram's HTML escapes quotes and
    `<>&` everywhere, but inside `{{ }}` and `{% %}` they belong to the template language."""
    return _JINJA_RE.sub(lambda m: html.unescape(m.group(0)), text_html)


def to_telegram_html(template: str) -> str:
    """The template shown back to staff (to copy and edit): valid Telegram HTML again."""
    return _JINJA_RE.sub(lambda m: html.escape(m.group(0), quote=False), template)


def check_tip(template: str, *, caption: bool = False) -> None:
    """Return if the tip is fit to send to every client; raise TipError saying why not."""
    try:
        tree = _environment().parse(template)
        unknown = sorted(meta.find_undeclared_variables(tree) - set(PLACEHOLDERS))
    except TemplateSyntaxError as exc:  # also an unknown filter or test
        raise TipError("syntax", exc.message or "", exc.lineno) from None
    for node in tree.find_all(_REFUSED):
        raise TipError("unsupported", type(node).__name__, node.lineno)
    if unknown:
        name = unknown[0]
        raise TipError("unknown", name, _line_of(tree, name))
    rendered = render_tip(template, _LONGEST_NAME)
    try:
        check_message_html(rendered, limit=MAX_CAPTION if caption else MAX_TEXT)
    except HtmlError as exc:
        kind = "length" if "too long" in str(exc) else "html"
        raise TipError(kind, str(exc)) from None


class _TipEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, also refusing `**` and repetitions longer than a message (`"x" * 10**9`),
    which the stock sandbox lets through and which would stall the bot."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("powers are not allowed")
        sizes = [len(v) for v in (left, right) if isinstance(v, str | list | tuple)]
        counts = [v for v in (left, right) if isinstance(v, int)]
        if sizes and counts and sizes[0] * counts[0] > _MAX_OUTPUT:
            raise SecurityError("that repetition is longer than a message")
        return left * right


@lru_cache(maxsize=16)  # a broadcast renders one template for thousands of clients
def _compiled(template: str) -> Template:
    return _environment().from_string(template)


@cache
def _environment() -> ImmutableSandboxedEnvironment:
    env = _TipEnvironment(autoescape=True, undefined=StrictUndefined)
    env.globals.clear()  # no range(), lipsum(), dict()...
    env.filters = {name: env.filters[name] for name in _FILTERS}
    env.tests = {name: env.tests[name] for name in ("defined", "undefined", "none", "string")}
    return env


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
