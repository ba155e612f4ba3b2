"""The import contracts of pyproject.toml (``[tool.importlinter]``) hold: run ``lint-imports`` on each."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
CONTRACTS = [c["id"] for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]]
# Contracts known to be broken, with the imports that still break them; strict: a fixed one fails here
# until its entry is removed.
KNOWN_BROKEN: dict[str, str] = {}


def _marks(contract: str) -> list[pytest.MarkDecorator]:
    reason = KNOWN_BROKEN.get(contract)
    return [pytest.mark.xfail(reason=reason, strict=True)] if reason else []


def test_every_contract_is_checked() -> None:
    assert {"drivers-standalone", "queue-pure", "store-below-web", "leaves", "feature-layers"} <= set(CONTRACTS)


@pytest.mark.parametrize("contract", [pytest.param(c, marks=_marks(c)) for c in CONTRACTS])
def test_import_contract_holds(contract: str) -> None:
    result = subprocess.run([str(LINT), "--no-cache", "--contract", contract], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
