"""Tips written by staff: Telegram HTML with Jinja2 placeholders, rendered per client.

Staff text is not ours, so it runs in Jinja2's immutable sandbox (no attribute tricks, no
changing data) with HTML autoescape (a client named `<b>&` stays text), and with only what a
tip needs: the placeholders, a few text filters, `if`. No loops, macros or function calls, so a
tip runs straight through, each step at most once. And every step is bounded: no value a tip
makes (by `~`, `+`, `*`, `%`, a filter, a slice, a list, a `{% set %}` block, or printed) may
be longer than a message (_MAX_VALUE), and all of them together no more than _MAX_WORK
characters, checked before the big ones (repetition, `%` widths) are made. So a tip renders in
milliseconds and a few hundred kilobytes whatever it says, for every client, not just when it
is checked.

Everything is checked when the staff member sends the tip, before any client could see it: the
template compiles, names only known placeholders, and renders, for the longest name Telegram
allows, to HTML Telegram accepts within its length limit. The bot runs that check in a child
process (`python -m dialogs.staff_text`, see `check_request`) with a time and memory limit and
a minimal environment (`check_environment`: no token, database URL or webhook secret). A
fault is a TipError: a kind (worded in `templates/staff/tip_problem.j2`), a detail and the line.
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from functools import cache, lru_cache, wraps
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import (
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    meta,
    nodes,
    pass_eval_context,
)
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import escape

from dialogs.telegram_html import MAX_CAPTION, MAX_TEXT, HtmlError, check_message_html

# What a tip may name. Telegram's first names are at most 64 characters; the check renders
# the worst case for escaping and length.
PLACEHOLDERS = ("first_name",)
_LONGEST_NAME = "&<>" * 21 + "A"
_JINJA_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_FILTERS = ("capitalize", "default", "d", "escape", "e", "lower", "title", "trim", "upper")
_REFUSED = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.Call)
_MAX_OUTPUT = 2 * MAX_TEXT
_MAX_VALUE = _MAX_OUTPUT  # characters in any one value a tip makes
_MAX_ITEMS = 100  # items in a list, tuple or dict, nested ones included
_MAX_WORK = 16 * _MAX_VALUE  # characters made in all, in one rendering
T = TypeVar("T")

# The check in a child process: `check_request` is written to its stdin, `check_answer` reads
# its stdout. The bot waits CHECK_SECONDS for it, then kills it; the kernel stops it after as
# much CPU time, and it may take CHECK_MEMORY more address space than it starts with.
CHECK_COMMAND = (sys.executable, "-m", "dialogs.staff_text")
CHECK_DIRECTORY = Path(__file__).resolve().parent.parent  # where `dialogs` can be imported
CHECK_SECONDS = 10
CHECK_MEMORY = 256 * 2**20
# What the child inherits from the bot's environment: where Python and its packages are, and
# the locale. Nothing else: the bot's environment holds BOT_TOKEN, DATABASE_URL (with its
# password) and WEBHOOK_SECRET, and the child runs text staff wrote.
CHECK_ENVIRONMENT = (
    "PATH",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONUTF8",
    "PYTHONIOENCODING",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPYCACHEPREFIX",
    "LANG",
    "LANGUAGE",
)


class TipError(ValueError):
    """What is wrong with a tip. `kind`: syntax, unclosed (a "{{" or "{%" without its end),
    unknown, unsupported, unsafe, error, html, length or size (too big to check: a limit on
    values, time or memory); `detail`: the specifics (Jinja2's or Telegram's words, a name,
    or the unclosed opening)."""

    def __init__(self, kind: str, detail: str = "", line: int | None = None) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
        self.line = line


class _TooBig(Exception):
    """A limit on what a tip makes was reached (a TipError of kind "size")."""


def render_tip(template: str, first_name: str) -> str:
    """The tip for one client. Raises TipError if it cannot be rendered for this name."""
    parts: list[str] = []
    size = 0
    budget = _work.set([_MAX_WORK])
    try:
        for part in _compiled(template).generate(first_name=first_name):
            size += len(part)
            if size > _MAX_OUTPUT:
                raise TipError("length", f"over {_MAX_OUTPUT} characters")
            parts.append(part)
    except TipError:
        raise
    except (_TooBig, RecursionError, MemoryError) as exc:
        raise TipError("size", _size_detail(exc), _template_line(exc)) from None
    except SecurityError as exc:
        raise TipError("unsafe", str(exc), _template_line(exc)) from None
    except Exception as exc:  # staff text may fail in any way (1/0, a wrong value...)
        detail = exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)
        raise TipError("error", detail or type(exc).__name__, _template_line(exc)) from None
    finally:
        _work.reset(budget)
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
        unclosed = _unclosed(template)
        if unclosed is not None:  # the usual typo, said plainly rather than in parser words
            raise TipError("unclosed", *unclosed) from None
        raise TipError("syntax", exc.message or "", exc.lineno) from None
    except RecursionError:  # Jinja2's parser recurses once per bracket, sign, `not`...
        raise TipError("size", "it is nested too deeply") from None
    except ValueError as exc:  # a number too long for Python to read (4300 digits)
        raise TipError("syntax", str(exc)) from None
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


# --- the check in a child process ------------------------------------------------------------


def check_request(template: str, first_name: str, *, caption: bool = False) -> bytes:
    """What to send to CHECK_COMMAND: check the tip, then render it for `first_name` (the
    staff member's own name, for the preview)."""
    job = {"template": template, "first_name": first_name, "caption": caption}
    return json.dumps(job).encode()


def check_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The child's environment: CHECK_ENVIRONMENT and the LC_* locale variables of `environ`,
    so that no secret of the bot's reaches the process that runs staff text."""
    return {
        name: value
        for name, value in environ.items()
        if name in CHECK_ENVIRONMENT or name.startswith("LC_")
    }


def check_answer(output: bytes) -> TipError | None:
    """What CHECK_COMMAND said: None if the tip is fine, else the TipError. A process that
    stopped without a full answer (killed at a limit) is a "size" TipError."""
    try:
        answer = json.loads(output)
        return TipError(**answer["error"]) if answer["error"] else None
    except (ValueError, TypeError, KeyError):
        return TipError("size", "the check stopped before it was done")


def _check_in_this_process() -> None:
    """`python -m dialogs.staff_text`: one check_request from stdin, its answer to stdout."""
    _limit_this_process()
    job = json.loads(sys.stdin.buffer.read())
    try:
        check_tip(job["template"], caption=job["caption"])
        render_tip(job["template"], job["first_name"])
        error = None
    except TipError as exc:
        error = {"kind": exc.kind, "detail": exc.detail, "line": exc.line}
    except MemoryError:  # outside the template (its own are TipErrors already)
        error = {"kind": "size", "detail": _size_detail(MemoryError()), "line": None}
    sys.stdout.write(json.dumps({"error": error}))


def _limit_this_process() -> None:
    """At most CHECK_SECONDS of CPU (then the kernel stops it) and CHECK_MEMORY more address
    space than now (then Python raises MemoryError). Where the OS has no such limits, the
    bot's own time limit still applies."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (CHECK_SECONDS, CHECK_SECONDS))
        pages = int(Path("/proc/self/statm").read_text().split()[0])
        memory = pages * resource.getpagesize() + CHECK_MEMORY
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, OSError, ValueError):
        pass


# --- the bounded sandbox ---------------------------------------------------------------------

_work: ContextVar[list[int] | None] = ContextVar("tip_work", default=None)
# `%` conversions: `%%`, or `%`, a (key), flags, width, .precision, length and type.
_CONVERSION_RE = re.compile(r"%%|%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.?)")


def _made(value: T, what: str) -> T:
    """`value`, just made by `what`, if it is within the limits."""
    size = _size(value)
    if size > _MAX_VALUE:
        raise _TooBig(f"{what} makes a text of over {_MAX_VALUE} characters")
    left = _work.get()
    if left is not None:
        left[0] -= size
        if left[0] < 0:
            raise _TooBig(f"it makes over {_MAX_WORK} characters of text along the way")
    return value


def _size(value: Any) -> int:
    """About how many characters `value` makes as text, without making it. A list, tuple or
    dict is walked (a shared one each time it appears): over _MAX_ITEMS items is too big."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple | dict):
        size, items, stack = 2, 0, [value]
        while stack:
            current = stack.pop()
            items += len(current)
            if items > _MAX_ITEMS:
                raise _TooBig(f"a list here holds over {_MAX_ITEMS} items")
            for item in [*current, *current.values()] if isinstance(current, dict) else current:
                if isinstance(item, list | tuple | dict):
                    size += 4
                    stack.append(item)
                else:
                    size += _size(item) + 4  # quotes and a comma
        return size
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 3 // 10 + 2  # digits and a sign
    return 32  # a float, or a method or an undefined value shown by name


def _formatted_size(template: str, values: Any) -> int:
    """At most how long `template % values` is, before making it: each conversion is its
    width and precision (`*` is refused) plus all the values, ten times over for `%r`/`%a`
    (escapes), or a float's 320 digits."""
    size = len(template)
    values_size = _size(values)
    for match in _CONVERSION_RE.finditer(template):
        width, precision, kind = match.groups()
        if width is None:  # %%
            continue
        if "*" in (width, precision):
            raise _TooBig("a width or precision from the values (%*) is not allowed")
        for number in (width, precision):
            if number and (len(number) > 6 or int(number) > _MAX_VALUE):
                raise _TooBig(f"% asks for a width or precision of {number[:12]}")
            size += int(number or 0)
        size += values_size * (10 if kind in ("r", "a") else 1) + 320
    return size


def _size_detail(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    if isinstance(exc, MemoryError):
        return f"it needs over {CHECK_MEMORY // 2**20} MB of memory"
    return str(exc)


def _concat(parts: Iterable[str]) -> str:
    """`environment.concat`: joins what a `{% set %}` or `{% filter %}` block printed."""
    parts = list(parts)
    if sum(map(len, parts)) > _MAX_VALUE:
        raise _TooBig(f"this block makes a text of over {_MAX_VALUE} characters")
    return _made("".join(parts), "this block")


@pass_eval_context
def _finalize(eval_ctx: EvalContext, value: Any) -> Any:
    """Each value a tip prints (`{{ }}`), escaped here already so its size is known."""
    if isinstance(value, list | tuple | dict):
        _made(value, "printing this")
        value = str(value)
    if eval_ctx.autoescape:
        value = escape(value)
    return _made(value, "printing this")


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)  # keeps Jinja2's pass_... mark
    def bounded(*args: Any, **kwargs: Any) -> Any:
        return _made(function(*args, **kwargs), f"the filter {name}")

    return bounded


class _TipCodeGenerator(CodeGenerator):
    """Jinja2's code generator, with `~` and list, tuple and dict literals sent through the
    environment's checks: the sandbox has hooks for operators (`call_binop`), attributes and
    items, but `~` compiles to a plain join and literals to plain Python."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.tip_concat(context, (")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._checked(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._checked(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # `{% set a, b = ... %}`: a target, not a value
            super().visit_Tuple(node, frame)
        else:
            self._checked(super().visit_Tuple, node, frame)

    def _checked(self, visit: Callable[[Any, Frame], None], node: nodes.Expr, frame: Frame) -> None:
        self.write("environment.tip_made(")
        visit(node, frame)
        self.write(", 'a list')")


class _TipEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with every value a tip makes bounded (see the module's docstring), and
    refusing `**` (a number of any size in one step) and calls (refused at the check too)."""

    code_generator_class = _TipCodeGenerator
    # Intercepted operators are also not folded into constants when the tip is compiled.
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    concat = staticmethod(_concat)

    @staticmethod
    def tip_made(value: Any, what: str) -> Any:
        return _made(value, what)

    @staticmethod
    def tip_concat(context: Context, parts: tuple[Any, ...]) -> str:
        if sum(map(_size, parts)) > _MAX_VALUE:
            raise _TooBig(f"~ makes a text of over {_MAX_VALUE} characters")
        joined = markup_join(parts) if context.eval_ctx.autoescape else str_join(parts)
        return _made(joined, "~")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("powers are not allowed")
        if operator == "*":
            for times, value in ((left, right), (right, left)):
                if (
                    isinstance(times, int)
                    and isinstance(value, str | list | tuple)
                    and times * max(_size(value), len(value)) > _MAX_VALUE
                ):
                    raise _TooBig(f"* makes a text of over {_MAX_VALUE} characters")
        if operator == "%" and isinstance(left, str) and _formatted_size(left, right) > _MAX_VALUE:
            raise _TooBig(f"% makes a text of over {_MAX_VALUE} characters")
        return _made(self.binop_table[operator](left, right), operator)

    def getitem(self, obj: Any, argument: Any) -> Any:
        value = super().getitem(obj, argument)
        return _made(value, "a slice") if isinstance(argument, slice) else value

    def call(self, *args: Any, **kwargs: Any) -> Any:
        raise SecurityError("function calls are not allowed")


@lru_cache(maxsize=16)  # a broadcast renders one template for thousands of clients
def _compiled(template: str) -> Template:
    return _environment().from_string(template)


@cache
def _environment() -> ImmutableSandboxedEnvironment:
    env = _TipEnvironment(autoescape=True, undefined=StrictUndefined, finalize=_finalize)
    env.globals.clear()  # no range(), lipsum(), dict()...
    env.filters = {name: _bounded_filter(name, env.filters[name]) for name in _FILTERS}
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


_DELIMITERS = re.compile(r"\{\{|\{%|\}\}|%\}")
_CLOSING = {"{{": "}}", "{%": "%}"}


def _unclosed(template: str) -> tuple[str, int] | None:
    """The first "{{" or "{%" that another opening or the end of the tip comes before its own
    end, with its line. Jinja2's parser reports where it got lost, not what was left open."""
    opened: tuple[str, int] | None = None
    for match in _DELIMITERS.finditer(template):
        token = match.group(0)
        if token in _CLOSING:
            if opened is not None:
                break
            opened = (token, match.start())
        elif opened is not None and token == _CLOSING[opened[0]]:
            opened = None
    if opened is None:
        return None
    token, at = opened
    return token, template.count("\n", 0, at) + 1


if __name__ == "__main__":
    _check_in_this_process()
