"""A real ``hallq serve --workers 2 --no-devices`` on the demo hall, for multi-worker tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.polling import until_sync
from tests.support.serving import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def two_workers(tmp: Path) -> Iterator[str]:
    """Serve the demo hall (demo accounts and tokens) from two worker processes; yield the base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}
    env.update({"HALLQ_CONFIG": str(ROOT / "config" / "demo.yaml"), "HALLQ_DEMO": "1",
                "HALLQ_DATABASE_URL": f"sqlite:///{tmp / 'hall.db'}", "HALLQ_EVENT_POLL_SECONDS": "0.2",
                "PYTHONPATH": str(ROOT)})
    log = tmp / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--workers", "2",
                                 "--no-devices"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            return False

        until_sync(healthy, 120)  # two workers on a loaded machine
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
