"""Content folders for tests, as a clinic would write them (`CONTENT_DIR`): the shipped
clinic.yaml with some facts changed, and any other file or template given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dialogs.clinic import PACK


def shipped(name: str) -> Any:
    return yaml.safe_load((PACK / name).read_text(encoding="utf-8"))


def content_folder(
    folder: Path,
    *,
    clinic: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
    templates: dict[str, str] | None = None,
) -> Path:
    """A content folder in `folder`: clinic.yaml is the shipped one with `clinic`'s top-level
    values instead (None removes one); `files` and `templates` are written as given."""
    folder.mkdir(parents=True, exist_ok=True)
    facts = shipped("clinic.yaml")
    for key, value in (clinic or {}).items():
        if value is None:
            facts.pop(key, None)
        else:
            facts[key] = value
    (folder / "clinic.yaml").write_text(yaml.safe_dump(facts, allow_unicode=True), "utf-8")
    for name, text in (files or {}).items():
        (folder / name).write_text(text, "utf-8")
    for name, text in (templates or {}).items():
        path = folder / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return folder


def line_of(path: Path, start: str) -> int:
    """The number of the first line of `path` that starts with `start`."""
    lines = path.read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if text.startswith(start))
