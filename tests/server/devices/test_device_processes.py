"""One owner for the devices, as deployed: real ``hallq serve`` / ``hallq devices`` processes.

The simulators run in this test process on serial ptys (the bytes of the real devices);
the server processes open them by path. "Exactly one connection" is checked the way an
operator would: which processes hold the pty open (``/proc/<pid>/fd``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.config import HallConfig
from server.devices.simulators import start_simulator
from server.devices.validation import validate_devices
from tests.support import DEMO_DEVICE_HOST, DEMO_KIOSK_K1, until

pytestmark = [pytest.mark.timeout(180), pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ptys")]
ROOT = Path(__file__).resolve().parents[3]
HOST_TOKEN = DEMO_DEVICE_HOST["Authorization"].removeprefix("Bearer ")

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Hall:
    """The simulators, the config file naming their ptys, and the database."""

    sims: dict[str, Any]
    paths: dict[str, str]
    config_path: Path
    database_url: str
    tmp: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}
        return {**env, "PYTHONPATH": str(ROOT), "HALLQ_DEVICE_HEARTBEAT_SECONDS": "0.5",
                "HALLQ_DEVICE_STALE_SECONDS": "3", "HALLQ_EVENT_POLL_SECONDS": "0.1"}

    def start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        out = (self.tmp / log).open("ab")
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", *args], cwd=self.tmp, env=self.env(),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def serve(self, port: int, *extra: str, log: str = "serve.log") -> subprocess.Popen[bytes]:
        return self.start("serve", "--config", str(self.config_path), "--database-url", self.database_url,
                          "--port", str(port), *extra, log=log)

    def log(self, name: str, tail: int = 4000) -> str:
        path = self.tmp / name
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@pytest.fixture
async def hall(demo_config: HallConfig, tmp_path: Path) -> AsyncIterator[Hall]:
    config = HallConfig.model_validate({**demo_config.model_dump(), "devices": DEVICES})
    sims: dict[str, Any] = {}
    paths: dict[str, str] = {}
    for spec in validate_devices(config, allow_sim=True):
        sims[spec.id], paths[spec.id] = await start_simulator(spec)
    devices = [{**d, "url": paths[d["id"]]} for d in DEVICES]
    data = {**demo_config.model_dump(mode="json", exclude_none=True), "devices": devices}
    config_path = tmp_path / "hall.yaml"
    config_path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    database_url = f"sqlite:///{tmp_path / 'hall.db'}"
    _seed(config_path, database_url)
    h = Hall(sims, paths, config_path, database_url, tmp_path)
    try:
        yield h
    finally:
        for proc in reversed(h.procs):
            _stop(proc)
        for sim in sims.values():
            await sim.stop()


def _seed(config_path: Path, database_url: str) -> None:
    from server.auth import seed_demo_accounts
    from server.config import load_config
    from server.store import QueueStore

    store = QueueStore(database_url, load_config(config_path))
    try:
        store.migrate()
        seed_demo_accounts(store, store.config)
    finally:
        store.close()


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


def cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


async def healthy(base: str, proc: subprocess.Popen[bytes], hall: Hall, log: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"exited {proc.returncode}:\n{hall.log(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"not healthy:\n{hall.log(log)}")


async def devices_ready(client: httpx.AsyncClient, ids: list[str]) -> None:
    """Every device reported available by its host (through the store, whichever worker answers)."""
    async def ready() -> bool:
        answer = await client.post("/api/devices/heartbeat", json={"host": "probe"}, headers=DEMO_DEVICE_HOST)
        assert answer.status_code == 200
        return True

    await ready()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # GET /api/devices is for supervisors; the device host token sees the log instead
        events = (await client.get("/api/devices/events", params={"after": 0, "limit": 1000},
                                   headers=DEMO_DEVICE_HOST)).json()["events"]
        latest = {e["data"]["device"]["id"]: e["data"]["device"] for e in events if e["type"] == "device.health"}
        if all(latest.get(i, {}).get("health", {}).get("available") for i in ids):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"devices not ready: {latest}")


PRINTS: list[dict[str, Any]] = []  # the print outcome of every kiosk ticket (for failure messages)


async def take(client: httpx.AsyncClient) -> str:
    """A ticket from kiosk k1; its number."""
    issued = await client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
    assert issued.status_code == 201, issued.text
    body = issued.json()
    PRINTS.append(body["print"])
    return str(body["ticket"]["number"] if "ticket" in body else body["number"])


async def exercise(hall: Hall, base: str) -> None:
    """Card on k1's reader → any worker sees the session; kiosk tickets print once each; keypad call-next → LED."""
    async with httpx.AsyncClient(base_url=base, timeout=15) as client:
        await devices_ready(client, list(hall.paths))
        await hall.sims["idcard-k1"].act("place_card", {"card": "elderly"})

        async def session_seen() -> bool:
            return (await client.get("/api/kiosks/k1/session", headers=DEMO_KIOSK_K1)).status_code == 200

        deadline = time.monotonic() + 15
        while not await session_seen():
            assert time.monotonic() < deadline, "the card session never reached the server"
            await asyncio.sleep(0.1)
        # a new connection per request, so the workers take turns answering
        async with httpx.AsyncClient(base_url=base, timeout=15, limits=httpx.Limits(max_keepalive_connections=0),
                                     headers={**DEMO_KIOSK_K1, "Connection": "close"}) as fresh:
            answers = [await fresh.get("/api/kiosks/k1/session") for _ in range(24)]
        assert {a.status_code for a in answers} == {200}
        assert len({a.json()["session_id"] for a in answers}) == 1

        numbers = [await take(client)]  # bound to the card (one open ticket per person and service)
        await hall.sims["idcard-k1"].act("remove_card", {})
        deadline = time.monotonic() + 15
        while await session_seen():
            assert time.monotonic() < deadline, "the card's removal never reached the server"
            await asyncio.sleep(0.1)
        numbers += [await take(client), await take(client)]
        # the route waits a few seconds for the print; on a starved machine a job may time out, and a
        # timed-out job must never print late — so: every ticket reported printed is on paper exactly once
        printer = hall.sims["printer-k1"]
        printed = [n for n, p in zip(numbers, PRINTS[-3:], strict=True) if p["printed"]]
        assert printed and all(p["state"] in ("done", "failed") for p in PRINTS[-3:]), PRINTS
        assert await printer.wait_for(lambda s: s.printed >= len(printed), 15), (printer.printed, PRINTS)

        opened = await client.post("/api/windows/1/open", json={}, headers=DEMO_DEVICE_HOST)
        assert opened.status_code == 200, opened.text
        keypads = hall.sims["keypads-bus1"]
        result = await keypads.act("press", {"address": 1, "key": "call_next"})
        assert result["acked"], result

        async def current() -> Any:
            return (await client.get("/api/windows/1", headers=DEMO_DEVICE_HOST)).json()["current"]

        deadline = time.monotonic() + 15
        while (await current()) is None:
            assert time.monotonic() < deadline, "the keypad's call-next never reached the queue"
            await asyncio.sleep(0.1)
        called = (await current())["number"]
        assert called == numbers[0]  # the elderly card's tickets come first, in order
        led = hall.sims["led-w1"]
        assert await led.wait_for(lambda s: any(called in str(v) for v in s.areas.values()), 15), led.state()
        # by now a duplicate or late print would have landed
        texts = [t["text"] for t in printer.state()["tickets"]]
        assert printer.printed == len(printed), (texts, PRINTS)
        assert all(sum(n in t for t in texts) == (1 if n in printed else 0) for n in numbers), (texts, PRINTS)


def single_holder(hall: Hall) -> int:
    """The one process holding every device's pty (fails when another process opened one)."""
    owners = {device_id: holders(path) for device_id, path in hall.paths.items()}
    pids = set().union(*owners.values())
    assert len(pids) == 1 and all(len(o) == 1 for o in owners.values()), {
        d: [cmdline(p) for p in o] for d, o in owners.items()}
    return pids.pop()


async def test_serve_with_four_workers_runs_one_device_host(hall: Hall) -> None:
    port = _free_port()
    proc = hall.serve(port, "--workers", "4")
    base = f"http://127.0.0.1:{port}"
    await healthy(base, proc, hall, "serve.log")
    await until(lambda: all(holders(p) for p in hall.paths.values()), 30)
    owner = single_holder(hall)
    assert " devices " in cmdline(owner) and "--server" in cmdline(owner)
    await exercise(hall, base)
    assert single_holder(hall) == owner  # still exactly one process on every port


async def test_hallq_devices_drives_every_device_through_the_api_and_survives_a_restart(hall: Hall) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = hall.serve(port, "--no-devices")
    await healthy(base, server, hall, "serve.log")
    host = hall.start("devices", "--server", base, "--token", HOST_TOKEN, "--config", str(hall.config_path),
                      "--name", "kiosk-pc-1", log="devices.log")
    await until(lambda: all(holders(p) for p in hall.paths.values()), 30)
    assert single_holder(hall) == host.pid  # serve --no-devices opened none
    await exercise(hall, base)

    # a second host for the same devices is refused, naming the first
    second = hall.start("devices", "--server", base, "--token", HOST_TOKEN, "--config", str(hall.config_path),
                        "--name", "spare-box", log="second.log")
    assert second.wait(60) == 3, hall.log("second.log")
    assert "kiosk-pc-1" in hall.log("second.log")

    # the server restarts; the device host keeps its ports and catches up
    await asyncio.to_thread(_stop, server)  # off the loop: the simulators keep answering meanwhile
    assert host.poll() is None and single_holder(hall) == host.pid
    server = hall.serve(port, "--no-devices", log="serve2.log")
    await healthy(base, server, hall, "serve2.log")
    # the host's own readiness line: its event stream is back (print jobs reach it again)
    await until(lambda: hall.log("devices.log", 10**7).count("event stream connected") >= 2, 30)
    async with httpx.AsyncClient(base_url=base, timeout=15) as client:
        number = await take(client)
        printer = hall.sims["printer-k1"]
        assert await printer.wait_for(lambda s: any(number in t["text"] for t in s.state()["tickets"]), 20), \
            hall.log("devices.log")
    assert single_holder(hall) == host.pid
