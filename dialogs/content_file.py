"""Reading one of the clinic's content files (YAML) into its pydantic model, with every mistake
named by file, line and field.

pydantic says which field is wrong (`services.tnt.booking_page`) but not where it is in the
file; PyYAML's node tree knows each value's line. Joining the two is the only hand-written
part (no library maps a validation error back to a YAML line).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML has it
Loc = Sequence[int | str]


class ContentError(Exception):
    """One or more mistakes in the content, each as "file:line: field: what is wrong"."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


class Located:
    """A YAML document with the line of every value in it."""

    def __init__(self, path: Path, text: str, shown: str | None = None) -> None:
        self.path, self.shown = path, shown or str(path)
        loader = _Loader(text)
        try:  # one parse gives both the node tree (lines) and the data
            self.root: yaml.Node | None = loader.get_single_node()
            self.data: Any = loader.construct_document(self.root) if self.root else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ContentError([f"{self.shown}{line}: not valid YAML: {problem}"]) from None
        finally:
            loader.dispose()

    @classmethod
    def read(cls, path: Path, shown: str | None = None) -> Located:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ContentError([f"{shown or path}: cannot read it ({exc.strerror})"]) from None
        except UnicodeDecodeError:
            raise ContentError([f"{shown or path}: not UTF-8 text"]) from None
        return cls(path, text, shown)

    def line(self, loc: Loc) -> int | None:
        """The line (from 1) of the value at `loc`, or of the nearest enclosing one found."""
        node, found = self.root, None
        if node is not None:
            found = node.start_mark.line + 1
        for part in loc:
            child = _child(node, part)
            if child is None:
                break
            node, found = child, child.start_mark.line + 1
        return found

    def problem(self, loc: Loc, message: str) -> str:
        line = self.line(loc) if loc else self._line_named(message)
        field = ".".join(str(part) for part in loc)
        return f"{self.shown}{f':{line}' if line else ''}: {field + ': ' if field else ''}{message}"

    def _line_named(self, message: str) -> int | None:
        """For a check across fields ("recommend: unknown service 'massage'"): the line of the
        value the message quotes, looked for in the section it names; else the first line."""
        section = message.split(":")[0].split(" ")[0]
        quoted = re.search(r"'([^']+)'", message)
        node = _child(self.root, section) or _child(self.root, section + "s") or self.root
        if quoted is not None and node is not None:
            for found in _scalars(node):
                if str(found.value) == quoted[1]:
                    return found.start_mark.line + 1
        return node.start_mark.line + 1 if node is not None else None

    def model(self, model: type[M], **context: Any) -> M:
        """The document as `model`; every validation error named with its line."""
        try:
            return model.model_validate(self.data, context=context or None)
        except ValidationError as exc:
            raise ContentError(
                [
                    self.problem(_loc(error["loc"]), error["msg"].removeprefix("Value error, "))
                    for error in exc.errors()
                ]
            ) from None


def _loc(loc: Sequence[int | str]) -> list[int | str]:
    """pydantic's location without its own markers (a union's branch, a tagged choice)."""
    return [part for part in loc if not (isinstance(part, str) and "[" in part)]


def _scalars(node: yaml.Node) -> Iterator[yaml.ScalarNode]:
    """Every scalar under `node`, keys and values, in the order of the file."""
    if isinstance(node, yaml.ScalarNode):
        yield node
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalars(key)
            yield from _scalars(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _scalars(item)


def _child(node: yaml.Node | None, part: int | str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if str(key.value) == str(part):
                found: yaml.Node = value
                return found
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        item: yaml.Node = node.value[part]
        return item
    return None
