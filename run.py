#!/usr/bin/env python3
"""Bootstrap hallq on a machine that has only python3.

    python3 run.py demo            # the demo hall on http://127.0.0.1:8000
    python3 run.py test [ARGS…]    # lint + the whole test suite (ARGS go to pytest)

The first run creates .venv (also where Debian's python3 lacks ensurepip) and installs
hallq into it from the lock files in requirements/ (docs/dependencies.md); later runs
reinstall only when a lock file or pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
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


def is_debian_root() -> bool:
    """True when we may apt-get install (root on a Debian-like system)."""
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def apt_install(packages: list[str]) -> None:
    """apt-get install packages non-interactively (root only)."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    sh(["apt-get", "update"], env=env)
    sh(["apt-get", "install", "-y", "--no-install-recommends", *packages], env=env)


def venv_packages() -> list[str]:
    """Debian's packages that give this python its ensurepip (python3-venv and the versioned one)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}-venv"
    return ["python3-venv", version]


def system_pip() -> bool:
    """True when the system python has pip (it can install pip into a venv made without one)."""
    return subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode == 0


def ensure_venv() -> None:
    """Create .venv with pip, using only pip's own configuration (index, proxy, trusted hosts).

    Debian's python3 lacks ensurepip until python3-venv is installed: as root we install it
    with apt; otherwise a system pip installs pip into the venv; otherwise we say what to run.
    """
    if PY.exists() and has_pip():
        return
    shutil.rmtree(VENV, ignore_errors=True)
    say("creating", VENV)
    made = subprocess.run([sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True)
    if made.returncode == 0 and has_pip():
        return
    shutil.rmtree(VENV, ignore_errors=True)
    if is_debian_root():
        say("this python has no ensurepip: installing", " ".join(venv_packages()))
        apt_install(venv_packages())
        sh([sys.executable, "-m", "venv", str(VENV)])
        return
    if system_pip():
        say("this python has no ensurepip: installing pip into the venv with the system pip")
        sh([sys.executable, "-m", "venv", "--without-pip", str(VENV)])
        # pip >= 22.3 installs into another environment; it reads pip.conf and PIP_* as usual
        sh([sys.executable, "-m", "pip", "--python", str(PY), "install", "--quiet", "pip"])
        return
    raise SystemExit(
        "[run.py] this python3 cannot create a virtual environment (no ensurepip, no pip).\n"
        f"         Install it with:  sudo apt-get install {' '.join(venv_packages())}\n"
        "         then run this command again."
    )


def lock_file(extra: str) -> Path:
    """The pinned, hash-checked requirements for the demo ("") or the tests ("test")."""
    return ROOT / "requirements" / (f"{extra}.lock" if extra else "base.lock")


def ensure_installed(extra: str) -> None:
    """Install the locked dependencies, then hallq itself (editable), when the lock changed.

    The lock files (requirements/*.lock) pin every package with its hashes, so two installs
    a month apart get the same versions; `docs/dependencies.md` says how to update them.
    """
    lock = lock_file(extra)
    want = hashlib.sha256(lock.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    done = MARKER.read_text().split() if MARKER.exists() else []
    if f"{want}[{extra}]" in done or (not extra and any(d.endswith("[test]") for d in done)):
        return  # a test install also satisfies the demo
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check"]
    sh([*pip, "--require-hashes", "-r", str(lock)], cwd=ROOT)
    sh([*pip, "--no-deps", "-e", "."], cwd=ROOT)
    MARKER.write_text(f"{want}[{extra}]")


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
    apt_install(missing)


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
