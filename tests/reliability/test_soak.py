"""Soak: many websocket displays plus kiosk/clerk traffic against a real ``hallq serve`` for a while.

Short in CI (about 60 s, 150 clients); the long run is on demand and prints JSON::

    HALLQ_SOAK_SECONDS=600 HALLQ_SOAK_CLIENTS=1000 .venv/bin/python -m pytest tests/reliability/test_soak.py -s

Invariants: every client's events arrive in ``seq`` order with ``prev`` naming the previous one
(server/api/ws.py), no ``resync``; every client got exactly the committed events of its topics
after its snapshot (the event log read back through the device hosts' catch-up route); the server's
RSS after warm-up grows less than RSS_BOUND_MB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support.credentials import DEMO_DEVICE_HOST, DEMO_KIOSK_K1
from tests.support.hallproc import CLIENT_LIMITS, free_port, seed

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("HALLQ_SOAK_SECONDS", "60"))
CLIENTS = int(os.environ.get("HALLQ_SOAK_CLIENTS", "150"))
WINDOWS = 3
# Why 24 MB: after warm-up every cache (shared snapshots, frames, the SQLAlchemy statement cache,
# pymalloc arenas) has reached its working size; what still grows is the day's ticket rows in
# SQLite's page cache (bounded by cache_size, ~8 MB) plus allocator fragmentation. A leak of one
# event or frame per client would add hundreds of MB over 10 minutes at 1,000 clients.
RSS_BOUND_MB = 24.0

HALL = """\
hall: {name: 压力测试大厅, always_open: true}
services:
  - {code: general, name: 综合业务, prefix: A, number_end: 9999, width: 4}
  - {code: social, name: 社保业务, prefix: B, number_end: 9999, width: 4}
windows:
  - {number: 1, services: [general]}
  - {number: 2, services: [general, social]}
  - {number: 3, services: [social]}
"""


@dataclass
class Display:
    """One websocket client: what it subscribed, its snapshot floors, the events it got, what went wrong."""

    topics: list[str]
    floor: dict[str, int] = field(default_factory=dict)
    seqs: list[int] = field(default_factory=list)
    last: int = 0
    pong: int = -1
    problems: list[str] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def _pinger(ws: Any, d: Display, drain: asyncio.Event) -> None:
    """Once the traffic stopped: a ping a second until the pong covers the last committed event."""
    await drain.wait()
    while not d.done.is_set():
        await ws.send('{"op": "ping"}')
        await asyncio.sleep(1.0)


async def display(url: str, d: Display, target: list[int], drain: asyncio.Event) -> None:
    """Subscribe, check order on every event, stop when a pong reaches ``target[0]``."""
    pinger: asyncio.Task[None] | None = None
    try:
        async with websockets.connect(url, max_size=None, open_timeout=120, ping_interval=None) as ws:
            pinger = asyncio.create_task(_pinger(ws, d, drain))
            await ws.send(json.dumps({"op": "subscribe", "topics": d.topics}))
            async for raw in ws:
                m = json.loads(raw)
                kind = m.get("type")
                if kind == "snapshot":
                    d.floor[m["topic"]] = int(m["seq"])
                    if len(d.floor) == len(d.topics):
                        d.ready.set()
                elif kind == "pong":
                    d.pong = int(m["seq"])
                    if target[0] >= 0 and d.pong >= target[0]:
                        d.done.set()
                        return
                elif kind in ("resync", "error"):
                    d.problems.append(f"{kind}: {raw[:200]!r}")
                elif m.get("seq") is not None:
                    seq, prev = int(m["seq"]), int(m["prev"])
                    if prev != d.last:
                        d.problems.append(f"missed: prev {prev} after {d.last}")
                    if seq <= d.last:
                        d.problems.append(f"out of order: {seq} after {d.last}")
                    d.last = seq
                    d.seqs.append(seq)
    except Exception as exc:  # a dropped connection is a failure of the soak, reported with the rest
        d.problems.append(f"connection: {exc!r}")
    finally:
        d.ready.set()
        d.done.set()
        if pinger is not None:
            pinger.cancel()


@dataclass
class Traffic:
    """Counts of what the kiosk and clerks did."""

    issued: int = 0
    calls: int = 0
    finished: int = 0
    errors: list[str] = field(default_factory=list)


async def kiosk(client: httpx.AsyncClient, stop: asyncio.Event, t: Traffic, rng: random.Random) -> None:
    """About eight issues a second from kiosk k1."""
    while not stop.is_set():
        r = await client.post("/api/tickets", json={"service": rng.choice(("general", "social"))},
                              headers=DEMO_KIOSK_K1)
        if r.status_code == 201 or r.status_code == 200:
            t.issued += 1
        else:
            t.errors.append(f"issue {r.status_code} {r.text[:120]}")
        await asyncio.sleep(rng.uniform(0.05, 0.2))


async def clerk(client: httpx.AsyncClient, window: int, stop: asyncio.Event, t: Traffic, rng: random.Random) -> None:
    """A window calling, serving and finishing tickets as they come."""
    r = await client.post(f"/api/windows/{window}/open", json={}, headers=DEMO_DEVICE_HOST)
    assert r.status_code in (200, 409), r.text
    while not stop.is_set():
        r = await client.post(f"/api/windows/{window}/call-next", headers=DEMO_DEVICE_HOST)
        if r.status_code == 204:
            await asyncio.sleep(0.2)
            continue
        if r.status_code != 200:
            t.errors.append(f"call-next {r.status_code} {r.text[:120]}")
            await asyncio.sleep(0.2)
            continue
        t.calls += 1
        for step in ("start", "finish"):
            await asyncio.sleep(rng.uniform(0.05, 0.3))
            r = await client.post(f"/api/windows/{window}/{step}", headers=DEMO_DEVICE_HOST)
            if r.status_code != 200:
                t.errors.append(f"{step} {r.status_code} {r.text[:120]}")
                break
        else:
            t.finished += 1


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def committed(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every committed event, oldest first (the catch-up route device hosts use)."""
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (await client.get("/api/devices/events", params={"after": after, "limit": 1000},
                                 headers=DEMO_DEVICE_HOST)).json()["events"]
        found += page
        if len(page) < 1000:
            return found
        after = int(page[-1]["seq"])


def topics_for(i: int) -> list[str]:
    """Most clients watch the hall; every fifth also a window; every seventh only a window."""
    if i % 7 == 3:
        return [f"window:{1 + i % WINDOWS}"]
    if i % 5 == 0:
        return ["hall", f"window:{1 + i % WINDOWS}"]
    return ["hall"]


@pytest.fixture
def server(tmp_path: Path) -> Any:
    """``hallq serve`` (no devices) on a fresh SQLite file, in its own process group."""
    config = tmp_path / "hall.yaml"
    config.write_text(HALL, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'hall.db'}"
    seed(config, url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}
    env.update(PYTHONPATH=str(ROOT), HALLQ_AUTH_ISSUE_LIMITS="0", HALLQ_AUTH_WS_PER_ADDRESS="5000",
               HALLQ_AUTH_WS_MAX_CONNECTIONS="5000", HALLQ_AUTH_MAX_CONNECTIONS="5000",
               HALLQ_AUTH_CONNECTIONS_PER_ADDRESS="5000", HALLQ_AUTH_ACCOUNT_RATE="1000000/60")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--config", str(config),
                             "--database-url", url, "--port", str(port), "--no-devices", "--log-level", "warning"],
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)
    try:
        yield proc, base, tmp_path
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


async def soak(proc: subprocess.Popen[bytes], base: str) -> dict[str, Any]:
    """Connect the displays, run the traffic, sample RSS, then drain and collect."""
    ws_url = base.replace("http://", "ws://") + "/ws"
    displays = [Display(topics_for(i)) for i in range(CLIENTS)]
    target = [-1]
    drain = asyncio.Event()
    tasks = []
    for i, d in enumerate(displays):  # in batches: a thousand handshakes at once would only queue up
        tasks.append(asyncio.create_task(display(ws_url, d, target, drain)))
        if i % 50 == 49:
            await asyncio.gather(*(x.ready.wait() for x in displays[: i + 1]))
    await asyncio.gather(*(d.ready.wait() for d in displays))
    rng = random.Random(19)
    stop = asyncio.Event()
    traffic = Traffic()
    warmup = max(10.0, SECONDS / 4)
    samples: list[tuple[float, float]] = []
    # idle keep-alive connections expire on the client before the server's 5 s closes them: no
    # request races the server's close (a "Server disconnected" after ten minutes)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=CLIENT_LIMITS) as client:
        load = [asyncio.create_task(kiosk(client, stop, traffic, rng))]
        load += [asyncio.create_task(clerk(client, w, stop, traffic, rng)) for w in range(1, WINDOWS + 1)]
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < SECONDS:
            samples.append((elapsed, rss_mb(proc.pid)))
            await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*load)
        events = await committed(client)
    target[0] = max((int(e["seq"]) for e in events), default=0)
    drain.set()
    await asyncio.wait(tasks, timeout=120)
    return {"displays": displays, "events": events, "traffic": traffic, "samples": samples, "warmup": warmup}


def test_soak(server: Any) -> None:
    """Displays see every event of their topics in order; the server's memory stays flat."""
    proc, base, _tmp = server
    out = asyncio.run(soak(proc, base))
    displays: list[Display] = out["displays"]
    events: list[dict[str, Any]] = out["events"]
    traffic: Traffic = out["traffic"]
    problems = [p for d in displays for p in d.problems]
    assert not problems, problems[:10]
    assert not traffic.errors, traffic.errors[:5]
    assert traffic.issued > 0 and traffic.calls > 0
    assert all(d.pong >= 0 for d in displays), "a display never drained"
    missed = extra = 0
    for d in displays:
        got = set(d.seqs)
        # every committed event of a topic after that topic's snapshot reached the display ...
        expected = {int(e["seq"]) for e in events
                    if any(t in d.floor and int(e["seq"]) > d.floor[t] for t in e["topics"])}
        # ... and nothing of a topic it did not subscribe
        allowed = {int(e["seq"]) for e in events if set(e["topics"]) & set(d.topics)}
        missed += len(expected - got)
        extra += len(got - allowed)
    assert missed == 0 and extra == 0, f"{missed} events missed, {extra} foreign events, {len(displays)} displays"
    after = [mb for t, mb in out["samples"] if t >= out["warmup"]]
    base_mb = after[0]
    growth = max(after) - base_mb
    report = {
        "seconds": SECONDS, "clients": CLIENTS, "events": len(events), "issued": traffic.issued,
        "calls": traffic.calls, "finished": traffic.finished,
        "deliveries": sum(len(d.seqs) for d in displays),
        "rss_mb": {"start": round(out["samples"][0][1], 1), "after_warmup": round(base_mb, 1),
                   "max": round(max(after), 1), "end": round(after[-1], 1), "growth": round(growth, 1),
                   "bound": RSS_BOUND_MB},
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(report, ensure_ascii=False))
    assert growth < RSS_BOUND_MB, report
