"""The hazard log (docs/clinical-safety.md) names a test as the evidence for each control:
each must exist, or the safety case claims evidence it does not have."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "docs" / "clinical-safety.md"
_EVIDENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def _hazards() -> dict[str, list[tuple[str, str]]]:
    """Each hazard's section title with the tests named in it."""
    sections = re.split(r"^## (H\d+ .+)$", LOG.read_text(encoding="utf-8"), flags=re.M)
    return {
        title: _EVIDENCE.findall(body)
        for title, body in zip(sections[1::2], sections[2::2], strict=True)
    }


def test_every_hazard_names_tests_that_exist() -> None:
    hazards = _hazards()
    assert len(hazards) >= 10
    missing = []
    for title, evidence in hazards.items():
        assert evidence, f"{title}: no test named as evidence"
        for file, name in evidence:
            path = ROOT / file
            if not path.exists() or name not in _tests_in(path):
                missing.append(f"{title}: {file}::{name}")
    assert missing == [], f"the hazard log names tests that do not exist: {missing}"


def test_the_summary_table_lists_every_hazard() -> None:
    text = LOG.read_text(encoding="utf-8")
    ids = [title.split()[0] for title in _hazards()]
    for hazard_id in ids:
        assert re.search(rf"^\| {hazard_id} \|", text, flags=re.M), hazard_id
