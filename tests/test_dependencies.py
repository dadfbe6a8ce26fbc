"""What the project installs: ranges with a security floor and a capped major in
pyproject.toml, and every machine on the exact releases pinned in constraints.txt."""

from __future__ import annotations

import tomllib
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
REQUIREMENTS = [Requirement(r) for r in PROJECT["dependencies"]]
DEV = [Requirement(r) for r in PROJECT["optional-dependencies"]["dev"]]


def test_every_dependency_has_a_floor_and_a_capped_major() -> None:
    for requirement in REQUIREMENTS + DEV:
        if requirement.name == "tzdata":  # its version is the data's year
            continue
        operators = {spec.operator for spec in requirement.specifier}
        assert {">=", "<"} <= operators, f"{requirement}: a floor and a cap"


def test_releases_with_known_vulnerabilities_are_excluded() -> None:
    wanted = {canonicalize_name(r.name): r.specifier for r in REQUIREMENTS}
    assert not wanted["jinja2"].contains("3.1.5"), "CVE-2025-27516"
    assert not wanted["aiohttp"].contains("3.12.13"), "CVE-2025-53643"
    assert {"mypy", "types-pyyaml"} <= {canonicalize_name(r.name) for r in DEV}


def _installed_closure() -> dict[str, str]:
    """Every distribution `.[dev]` brings in, and its installed version."""
    found: dict[str, str] = {}
    todo = [(Requirement("bodymechanix-assistant[dev]"), "")]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        dist = distribution(name)
        for wanted_extra in requirement.extras or {""}:
            key = f"{name}[{wanted_extra}]"
            if key in found:
                continue
            found[key] = dist.version
            todo += [(Requirement(r), wanted_extra) for r in dist.requires or []]
    return {key.split("[")[0]: version for key, version in found.items()}


def test_what_is_installed_is_exactly_what_constraints_txt_pins() -> None:
    """`make lock` was run after the last change of dependencies, and this venv was
    installed from it."""
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[canonicalize_name(name)] = version
    installed = _installed_closure()
    installed.pop("bodymechanix-assistant")
    assert installed == pinned
