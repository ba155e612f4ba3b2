#!/usr/bin/env python3
"""Bootstrap hallq on a machine that has only python3.

    python3 run.py demo            # the demo hall on http://127.0.0.1:8000
    python3 run.py test [ARGS…]    # lint + the whole test suite (ARGS go to pytest)

The first run creates .venv (also where Debian's python3 lacks ensurepip) and installs
hallq into it; later runs reinstall only when pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
MARKER = VENV / ".hallq-install"
# What `python3 run.py test` needs from Debian: browser tests, the PostgreSQL store test,
# CUPS printing, speech synthesis and the CJK fonts used by ticket and screen rendering.
DEBIAN_PACKAGES = ["chromium", "postgresql", "cups", "cups-bsd", "libcups2-dev", "espeak-ng", "sox",
                   "fonts-noto-cjk", "fonts-wqy-zenhei"]


def say(*parts: object) -> None:
    """Progress line."""
    print("[run.py]", *parts, flush=True)


def sh(cmd: list[str], **kwargs: object) -> None:
    """Run a command, echoing it; stop on failure."""
    say("$", " ".join(str(c) for c in cmd))
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def has_pip() -> bool:
    """True when the venv's python can run pip."""
    return subprocess.run([str(PY), "-m", "pip", "--version"], capture_output=True).returncode == 0


def bootstrap_pip() -> None:
    """Install pip into a venv made --without-pip: download the pip wheel and run pip from it."""
    say("bootstrapping pip from PyPI (this python has no ensurepip)")
    index = "https://pypi.org/pypi/pip/json"
    with urllib.request.urlopen(index, timeout=60) as response:
        meta = json.load(response)
    wheel = next(u for u in meta["urls"] if u["filename"].endswith(".whl"))
    wheel["url"] = urllib.parse.urljoin(index, wheel["url"])  # mirrors may answer relative links
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / wheel["filename"]
        with urllib.request.urlopen(wheel["url"], timeout=120) as response:
            data = response.read()
        digest = wheel.get("digests", {}).get("sha256")
        if digest and hashlib.sha256(data).hexdigest() != digest:
            raise SystemExit("downloaded pip wheel has a wrong sha256")
        path.write_bytes(data)
        # a wheel is a zip: python can run pip straight out of it to install itself
        sh([str(PY), f"{path}/pip", "install", "--quiet", str(path)])


def ensure_venv() -> None:
    """Create .venv with pip."""
    if PY.exists() and has_pip():
        return
    if not PY.exists():
        say("creating", VENV)
        made = subprocess.run([sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True)
        if made.returncode != 0:
            say("python3 -m venv failed (no ensurepip?); retrying --without-pip")
            shutil.rmtree(VENV, ignore_errors=True)
            sh([sys.executable, "-m", "venv", "--without-pip", str(VENV)])
    if not has_pip():
        bootstrap_pip()


def ensure_installed(extra: str) -> None:
    """pip install the project (editable) when pyproject.toml or the extra changed."""
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    want = hashlib.sha256(pyproject).hexdigest()
    done = MARKER.read_text().split() if MARKER.exists() else []
    # a test install also satisfies the demo
    if want in done and (not extra or f"{want}[{extra}]" in done):
        return
    target = f".[{extra}]" if extra else "."
    sh([str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-e", target], cwd=ROOT)
    MARKER.write_text(" ".join([want, f"{want}[{extra}]" if extra else want]))


def debian_packages() -> None:
    """As root on Debian, apt-get install the system packages the tests use (only missing ones)."""
    if os.geteuid() != 0 or not shutil.which("apt-get") or not shutil.which("dpkg-query"):
        say("not root on Debian: skipping system packages (tests needing them will skip)")
        return
    missing = []
    for pkg in DEBIAN_PACKAGES:
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        if "install ok installed" not in status.stdout:
            missing.append(pkg)
    if not missing:
        say("system packages already installed:", " ".join(DEBIAN_PACKAGES))
        return
    say("installing system packages:", " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    sh(["apt-get", "update"], env=env)
    sh(["apt-get", "install", "-y", "--no-install-recommends", *missing], env=env)


def ensure_pycups() -> None:
    """pycups (the optional ``cups`` extra) builds from source against libcups2-dev; try it, never fail on it."""
    if subprocess.run([str(PY), "-c", "import cups"], capture_output=True).returncode == 0:
        return
    if not shutil.which("gcc") or not Path("/usr/include/cups/cups.h").exists():
        say("no gcc or libcups2-dev: skipping pycups (the CUPS tests will skip)")
        return
    built = subprocess.run([str(PY), "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "pycups"])
    if built.returncode != 0:
        say("pycups did not build: the CUPS tests will skip")


def demo(args: list[str]) -> int:
    """Install and run the demo hall."""
    ensure_venv()
    ensure_installed("")
    os.chdir(ROOT)
    os.execv(str(PY), [str(PY), "-m", "server.cli", "demo", *args])
    return 0  # not reached


def test(args: list[str]) -> int:
    """Install, lint, run the whole test suite; the exit code is pytest's."""
    ensure_venv()
    debian_packages()
    ensure_installed("test")
    ensure_pycups()
    lint = subprocess.run([str(PY), "-m", "ruff", "check", "."], cwd=ROOT)
    say("ruff:", "clean" if lint.returncode == 0 else f"problems (exit {lint.returncode})")
    return subprocess.run([str(PY), "-m", "pytest", *args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    """Dispatch ``demo`` / ``test``."""
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__)
        return 2
    return demo(argv[1:]) if argv[0] == "demo" else test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
