"""The lock files pin every dependency pyproject.toml declares (run.py installs from them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$")


def normalise(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    """The distribution name of a PEP 508 requirement string."""
    match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    assert match, spec
    return normalise(match.group(1))


def pins(lock: Path) -> dict[str, str]:
    """name → version of every pinned line of a pip-compile lock file."""
    found = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            found[normalise(match.group(1))] = match.group(2)
    return found


def project() -> dict:
    """pyproject.toml's [project] table."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.mark.parametrize(("lock", "extras"), [("base.lock", []), ("test.lock", ["test"])])
def test_every_declared_dependency_is_pinned_with_hashes(lock: str, extras: list[str]) -> None:
    """A dependency added to pyproject.toml without re-locking fails here, not on a hall's server."""
    path = ROOT / "requirements" / lock
    pinned = pins(path)
    declared = [requirement_name(d) for d in project()["dependencies"]]
    for extra in extras:
        declared += [requirement_name(d) for d in project()["optional-dependencies"][extra]]
    missing = sorted(set(declared) - set(pinned))
    assert not missing, f"{lock} lacks {missing}: re-lock as docs/dependencies.md says"
    text = path.read_text()
    # every pin carries at least one hash (pip --require-hashes refuses the file otherwise)
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n\n", 1)[-1])
    for block in blocks:
        if PIN.match(block.splitlines()[0] if block else ""):
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_test_lock_agrees_with_the_base_lock() -> None:
    """The demo and the tests run the same versions of the packages they share."""
    base, test = pins(ROOT / "requirements" / "base.lock"), pins(ROOT / "requirements" / "test.lock")
    differ = {name: (version, test[name]) for name, version in base.items() if name in test and test[name] != version}
    assert not differ


def test_run_py_names_no_package_index() -> None:
    """run.py uses pip's own configuration (index, proxy, trusted hosts), never a hard-coded host."""
    source = (ROOT / "run.py").read_text()
    assert not re.search(r"https?://(?!127\.0\.0\.1)", source)
    assert "pypi.org" not in source
