"""Four real `hallq serve` processes on one database: no duplicate numbers, no ticket called twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.support.serving import free_port as _free_port  # below the ephemeral range

ROOT = Path(__file__).resolve().parents[2]
SERVERS = 4
KIOSKS = 8  # clients issuing tickets
CLERKS = 8  # clients calling and finishing, one window each
TICKETS_PER_KIOSK = 30

HALL = """
hall: {name: 多进程测试大厅, always_open: true}
services:
  - {code: alpha, name: 甲业务, prefix: A, number_end: 9999, width: 4}
  - {code: beta, name: 乙业务, prefix: B, number_end: 9999, width: 4}
windows:
"""


def _config(tmp_path: Path) -> Path:
    windows = "".join(f"  - {{number: {n}, services: [alpha, beta]}}\n" for n in range(1, CLERKS + 1))
    path = tmp_path / "hall.yaml"
    path.write_text(HALL + windows, encoding="utf-8")
    return path


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server did not become healthy:\n{log.read_text(errors='replace')[-3000:]}")


def _seed_accounts(config: Path, database_url: str) -> None:
    """Migrate and seed the demo accounts (clerk<n> for window n, kiosk tokens k1/k2) before the servers start."""
    from server.auth import seed_demo_accounts
    from server.config import load_config
    from server.store import QueueStore

    store = QueueStore(database_url, load_config(config))
    try:
        store.migrate()
        seed_demo_accounts(store, store.config)
    finally:
        store.close()


@contextlib.contextmanager
def start_servers(tmp_path: Path, database_url: str, count: int) -> Iterator[list[str]]:
    """Start ``count`` server processes one after another (each migrates idempotently)."""
    config = _config(tmp_path)
    _seed_accounts(config, database_url)
    # 240 tickets in seconds from two kiosk tokens on one address: a load test, not a hall
    env = dict(os.environ, PYTHONPATH=str(ROOT), HALLQ_EVENT_POLL_SECONDS="0.2",
               HALLQ_AUTH_KIOSK_RATE="100000/60", HALLQ_AUTH_IP_RATE="100000/60")
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for i in range(count):
            port = _free_port()
            log = tmp_path / f"server{i}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "server.cli", "serve", "--config", str(config), "--host", "127.0.0.1",
                     "--port", str(port), "--database-url", database_url, "--log-level", "warning"],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                )
            procs.append(proc)
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url, proc, log)
            urls.append(url)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


async def hammer(urls: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Kiosks issue tickets while clerks on every window call and finish them, all servers at once."""
    issued: list[dict[str, Any]] = []
    called: list[dict[str, Any]] = []
    kiosks_done = asyncio.Event()
    limits = httpx.Limits(max_connections=4)

    async def kiosk(i: int) -> None:
        kiosk_token = {"Authorization": f"Bearer hqd_demo-kiosk-k{1 + i % 2}"}
        async with httpx.AsyncClient(base_url=urls[i % len(urls)], timeout=30, limits=limits,
                                     headers=kiosk_token) as http:
            for k in range(TICKETS_PER_KIOSK):
                r = await http.post("/api/tickets", json={"service": ("alpha", "beta")[(i + k) % 2]})
                assert r.status_code == 201, r.text
                issued.append(r.json())

    async def clerk(i: int) -> None:
        window = i + 1
        async with httpx.AsyncClient(base_url=urls[i % len(urls)], timeout=30, limits=limits) as http:
            signed = await http.post("/api/auth/token", data={"username": f"clerk{window}",
                                                              "password": f"clerk{window}-demo"})
            assert signed.status_code == 200, signed.text
            http.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"
            assert (await http.post(f"/api/windows/{window}/open")).status_code == 200
            while True:
                r = await http.post(f"/api/windows/{window}/call-next")
                if r.status_code == 204:
                    if kiosks_done.is_set():
                        return
                    await asyncio.sleep(0.005)
                    continue
                assert r.status_code == 200, r.text
                ticket = r.json()
                assert ticket["window"] == window and ticket["state"] == "called"
                called.append(ticket)
                done = await http.post(f"/api/windows/{window}/finish")
                assert done.status_code == 200, done.text

    async def kiosks() -> None:
        await asyncio.gather(*(kiosk(i) for i in range(KIOSKS)))
        kiosks_done.set()

    async with asyncio.timeout(240):
        await asyncio.gather(kiosks(), *(clerk(i) for i in range(CLERKS)))
    return issued, called


def check(issued: list[dict[str, Any]], called: list[dict[str, Any]], database_url: str) -> None:
    """Zero duplicate numbers per service, zero tickets called twice, nothing lost."""
    assert len(issued) == KIOSKS * TICKETS_PER_KIOSK
    numbers = Counter((t["service"], t["business_day"], t["number"]) for t in issued)
    assert [n for n, c in numbers.items() if c > 1] == []
    ids = Counter(t["id"] for t in called)
    assert [i for i, c in ids.items() if c > 1] == []
    assert set(ids) == {t["id"] for t in issued}  # every ticket called exactly once

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            dup_numbers = conn.execute(sa.text(
                "SELECT service, business_day, number, COUNT(*) FROM tickets "
                "GROUP BY service, business_day, number HAVING COUNT(*) > 1"
            )).all()
            twice = conn.execute(sa.text(
                "SELECT ticket_id, COUNT(*) FROM transitions WHERE to_state = 'called' "
                "GROUP BY ticket_id HAVING COUNT(*) > 1"
            )).all()
            states = dict(conn.execute(sa.text("SELECT state, COUNT(*) FROM tickets GROUP BY state")).all())
    finally:
        engine.dispose()
    assert dup_numbers == []
    assert twice == []
    assert states == {"done": KIOSKS * TICKETS_PER_KIOSK}


@pytest.mark.timeout(400)
def test_four_processes_on_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hall.db'}"
    with start_servers(tmp_path, url, SERVERS) as urls:
        issued, called = asyncio.run(hammer(urls))
    check(issued, called, url)


@pytest.mark.timeout(400)
def test_four_processes_on_postgresql(tmp_path: Path, postgres_db_url: str) -> None:
    with start_servers(tmp_path, postgres_db_url, SERVERS) as urls:
        issued, called = asyncio.run(hammer(urls))
    check(issued, called, postgres_db_url)


@pytest.mark.timeout(120)
def test_websocket_sees_events_committed_by_another_process(tmp_path: Path) -> None:
    import json

    import websockets

    async def scenario(urls: list[str]) -> list[dict[str, Any]]:
        async with websockets.connect(urls[0].replace("http", "ws") + "/ws") as ws:
            await ws.send(json.dumps({"op": "subscribe", "topics": ["hall"]}))
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert snapshot["type"] == "snapshot"
            async with httpx.AsyncClient(base_url=urls[1], timeout=10,
                                         headers={"Authorization": "Bearer hqd_demo-kiosk-k1"}) as http:
                for service in ("alpha", "beta", "alpha"):
                    assert (await http.post("/api/tickets", json={"service": service})).status_code == 201
            return [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(3)]

    with start_servers(tmp_path, f"sqlite:///{tmp_path / 'hall.db'}", 2) as urls:
        events = asyncio.run(scenario(urls))
    assert [e["type"] for e in events] == ["ticket.issued"] * 3
    assert [e["data"]["ticket"]["number"] for e in events] == ["A0001", "B0001", "A0002"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
