"""A hall as deployed: simulators on ptys (or TCP) here, ``hallq`` as real processes.

Used by the reliability suites (tests/reliability/) and the device-ownership tests
(tests/server/devices/test_device_processes.py): the simulators run in the test process, the
config names their ptys, and ``hallq serve`` / ``hallq devices`` are subprocesses that can be
killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from drivers import registry
from server.config import HallConfig
from server.devices.simulators import simulator_options, start_simulator
from server.devices.validation import validate_devices
from tests.support.credentials import DEMO_DEVICE_HOST, DEMO_KIOSK_K1

ROOT = Path(__file__).resolve().parents[2]
HOST_TOKEN = DEMO_DEVICE_HOST["Authorization"].removeprefix("Bearer ")
CALLING = ("called", "serving")  # a ticket in these states belongs to a window's desk
# load clients drop an idle keep-alive connection before the server does (keep_alive_seconds 5):
# else a request can go out on a connection the server is closing ("Server disconnected")
CLIENT_LIMITS = httpx.Limits(keepalive_expiry=2.0)

DEVICES: list[dict[str, Any]] = [
    {"id": "printer-k1", "kind": "ticket_printer", "driver": "escpos", "url": "sim:pty", "kiosk": "k1",
     "options": {"encoding": "gb18030", "paper_mm": 80, "poll_interval": 0.3, "status_timeout": 0.5}},
    {"id": "idcard-k1", "kind": "idcard_reader", "driver": "sam", "url": "sim:pty", "kiosk": "k1",
     "options": {"poll_interval": 0.2, "status_interval": 5, "read_timeout": 3.0}},
    {"id": "led-w1", "kind": "led_display", "driver": "onbon_bx", "url": "sim:pty", "window": 1,
     "options": {"address": 1, "width": 160, "height": 16, "color": "red"}},
    {"id": "keypads-bus1", "kind": "keypad_bus", "driver": "ff68", "url": "sim:pty",
     "options": {"callers": {1: 1}, "evaluators": {101: 1}, "dedup_seconds": 0}},
]


def free_port() -> int:
    """An unused TCP port on loopback, outside the ephemeral range (tests/support/serving.py)."""
    from tests.support.serving import free_port as below_ephemeral

    return below_ephemeral()


@dataclass
class HallProcess:
    """The simulators, the config file naming their ptys, the database, and the hallq processes."""

    sims: dict[str, Any]
    paths: dict[str, str]
    config_path: Path
    database_url: str
    tmp: Path
    port: int = field(default_factory=free_port)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    cursor: int = 0  # the last event seq read by ``devices_ready``
    health: dict[str, Any] = field(default_factory=dict)  # the newest device.health per device
    lift_issue_limits: bool = True  # the chaos day keeps a real kiosk's pace (limits on)

    @property
    def base(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment of every hallq process (fast heartbeats and event polling)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}
        env = {**env, "PYTHONPATH": str(ROOT), "HALLQ_DEVICE_HEARTBEAT_SECONDS": "0.5",
               "HALLQ_DEVICE_STALE_SECONDS": "3", "HALLQ_EVENT_POLL_SECONDS": "0.1"}
        if self.lift_issue_limits:
            # the crash load: on a quiet machine its loops take more tickets a minute from one
            # kiosk and one address than a real kiosk's limits allow (those are tested elsewhere)
            env.update(HALLQ_AUTH_KIOSK_RATE="1000000/60", HALLQ_AUTH_IP_RATE="1000000/60",
                       HALLQ_AUTH_ACCOUNT_RATE="1000000/60")
        return env

    def start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        """Start ``python -m server.cli ARGS`` in its own session, output appended to ``log``."""
        out = (self.tmp / log).open("ab")
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", *args], cwd=self.tmp, env=self.env(),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def serve(self, *extra: str, log: str = "serve.log") -> subprocess.Popen[bytes]:
        """``hallq serve`` on this hall's port and database."""
        return self.start("serve", "--config", str(self.config_path), "--database-url", self.database_url,
                          "--port", str(self.port), *extra, log=log)

    def devices(self, name: str = "host-1", log: str = "devices.log") -> subprocess.Popen[bytes]:
        """``hallq devices`` against this hall's server."""
        return self.start("devices", "--server", self.base, "--token", HOST_TOKEN, "--config",
                          str(self.config_path), "--name", name, log=log)

    def log(self, name: str, tail: int = 4000) -> str:
        """The tail of a process log."""
        path = self.tmp / name
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def device_holders(self) -> set[int]:
        """Pids holding any simulator pty open."""
        return set().union(*(holders(p) for p in self.paths.values()))

    async def healthy(self, proc: subprocess.Popen[bytes], log: str, timeout: float = 90) -> None:
        """Wait for ``/healthz``; fail with the log when the process exits or never answers."""
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as client:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise AssertionError(f"exited {proc.returncode}:\n{self.log(log)}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError(f"not healthy:\n{self.log(log)}")

    async def events(self, client: httpx.AsyncClient, after: int) -> list[dict[str, Any]]:
        """Every committed event after ``after`` (paged through the device hosts' catch-up route)."""
        found: list[dict[str, Any]] = []
        while True:
            page = (await client.get("/api/devices/events", params={"after": after, "limit": 1000},
                                     headers=DEMO_DEVICE_HOST)).json()["events"]
            found += page
            if len(page) < 1000:
                return found
            after = int(page[-1]["seq"])

    async def devices_ready(self, client: httpx.AsyncClient, timeout: float = 60) -> dict[str, Any]:
        """Wait until the newest stored health of every device says available; returns it."""
        latest: dict[str, Any] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                for e in await self.events(client, self.cursor):
                    self.cursor = max(self.cursor, int(e.get("seq", 0)))
                    if e["type"] == "device.health":
                        self.health[e["data"]["device"]["id"]] = e["data"]["device"]
                latest = self.health
                if all(latest.get(i, {}).get("health", {}).get("available") for i in self.paths):
                    return latest
            await asyncio.sleep(0.2)
        raise AssertionError(f"devices not ready: {latest}")

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of a read-only SQL query on the hall's database (after the processes stopped)."""
        url = self.database_url
        if url.startswith("postgresql://"):
            url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(text(sql), params)]
        finally:
            engine.dispose()


def kill9(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group of ``proc`` (the server and every worker and child it started)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            kill9(proc)


def holders(path: str) -> set[int]:
    """Pids (other than this test) with ``path`` open."""
    found: set[int] = set()
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        if int(pid) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                        found.add(int(pid))
    return found


def seed(config_path: Path, database_url: str) -> None:
    """Migrate the database and create the demo accounts and device tokens."""
    from server.auth import seed_demo_accounts
    from server.config import load_config
    from server.store import QueueStore

    store = QueueStore(database_url, load_config(config_path))
    try:
        store.migrate()
        seed_demo_accounts(store, store.config)
    finally:
        store.close()


async def build_hall(demo_config: HallConfig, tmp: Path, database_url: str,
                     devices: list[dict[str, Any]] | None = None,
                     prepare: Callable[[Any], Any] | None = None) -> HallProcess:
    """Start the simulators (``sim:pty`` on ptys, ``sim`` on TCP), write the hall config naming them, seed.

    ``prepare(sim)`` runs on each simulator before it starts (to attach a drivers/faults.py link).
    """
    entries = devices if devices is not None else DEVICES
    config = HallConfig.model_validate({**demo_config.model_dump(), "devices": entries})
    sims: dict[str, Any] = {}
    paths: dict[str, str] = {}
    for spec in validate_devices(config, allow_sim=True):
        if prepare is None:
            sims[spec.id], paths[spec.id] = await start_simulator(spec)
            continue
        sim = prepare(registry.simulator_class(spec.driver)(spec.id, simulator_options(spec)))
        sims[spec.id] = sim
        paths[spec.id] = await sim.start_pty() if spec.url == "sim:pty" else await sim.start("127.0.0.1", 0)
    printer = sims.get("printer-k1")
    if printer is not None:  # every ticket on paper is kept, so a double print cannot scroll away
        printer.keep = 10**6
        printer.tickets = collections.deque(printer.tickets, maxlen=printer.keep)
    data = {**demo_config.model_dump(mode="json", exclude_none=True),
            "devices": [{**d, "url": paths[d["id"]]} for d in entries]}
    config_path = tmp / "hall.yaml"
    config_path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    await asyncio.to_thread(seed, config_path, database_url)
    return HallProcess(sims, paths, config_path, database_url, tmp)


async def close_hall(hall: HallProcess) -> None:
    """Stop every process, then every simulator."""
    for proc in reversed(hall.procs):
        await asyncio.to_thread(stop, proc)
    for sim in hall.sims.values():
        await sim.stop()


__all__ = ["CALLING", "DEMO_DEVICE_HOST", "DEMO_KIOSK_K1", "DEVICES", "HOST_TOKEN", "HallProcess", "build_hall",
           "close_hall", "free_port", "holders", "kill9", "seed", "stop"]
