"""Alert changes reach every worker's supervisors live: ``hallq serve --workers 2`` on one database.

Websockets are opened until they provably sit on both workers (``/healthz`` ``subscribers`` is
per process: an answer between 0 and the total means the rest are on the other worker). Then an
alert raised, its count bumped, its acknowledgement and its resolution — each made by whichever
worker the HTTP request lands on — must arrive on EVERY websocket, with a ``seq`` (it came
through the store's event log, server/alerts/wiring.py), long before the page's 60 s re-read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support.credentials import DEMO_KIOSK_K1
from tests.support.workers import two_workers

ROOT = Path(__file__).resolve().parents[3]
MAX_SOCKETS = 16


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``hallq serve --workers 2 --no-devices`` on the demo hall (demo accounts and tokens)."""
    with two_workers(tmp_path_factory.mktemp("alerts2")) as url:
        yield url


async def _subscribers(base: str, samples: int = 8) -> list[int]:
    """``subscribers`` of several fresh connections (each may land on either worker)."""
    out = []
    for _ in range(samples):
        async with httpx.AsyncClient(base_url=base, timeout=5) as c:
            out.append(int((await c.get("/healthz")).json()["subscribers"]))
    return out


async def _until(ws: Any, match: Callable[[dict[str, Any]], bool], timeout: float = 20) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        while True:
            message = json.loads(await ws.recv())
            if match(message):
                return message
    return await asyncio.wait_for(read(), timeout)


async def _scenario(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        r = await http.post("/api/auth/token", data={"username": "supervisor", "password": "supervisor-demo"})
        assert r.status_code == 200, r.text
        supervisor = {"Authorization": f"Bearer {r.json()['access_token']}"}
        floor = min(await _subscribers(base, 12))  # handlers every worker has
        sockets: list[Any] = []
        stack = contextlib.AsyncExitStack()
        async with stack:
            spread = False
            while not spread and len(sockets) < MAX_SOCKETS:
                ws = await stack.enter_async_context(websockets.connect(
                    base.replace("http", "ws") + "/ws", additional_headers=supervisor))
                await ws.send(json.dumps({"op": "subscribe", "topics": ["alerts"]}))
                await _until(ws, lambda m: m.get("type") == "snapshot")
                sockets.append(ws)
                spread = any(0 < v - floor < len(sockets) for v in await _subscribers(base, 4))
            assert spread, f"{len(sockets)} websockets never spread over both workers"

            async def everywhere(match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
                return list(await asyncio.gather(*(_until(ws, match) for ws in sockets)))

            def alert_of(kind: str, state: str, count: int = 1) -> Callable[[dict[str, Any]], bool]:
                def match(m: dict[str, Any]) -> bool:
                    a = (m.get("data") or {}).get("alert") or {}
                    return (m.get("type") == kind and a.get("type") == "kiosk_help"
                            and a.get("state") == state and a.get("count") == count)
                return match

            assert (await http.post("/api/kiosks/k1/help", headers=DEMO_KIOSK_K1)).status_code == 202
            raised = await everywhere(alert_of("alert.raised", "open"))
            assert all(m.get("seq") for m in raised), "alerts travel through the event log"
            alert_id = raised[0]["data"]["alert"]["id"]
            assert {m["data"]["alert"]["id"] for m in raised} == {alert_id}

            assert (await http.post("/api/kiosks/k1/help", headers=DEMO_KIOSK_K1)).status_code == 202
            await everywhere(alert_of("alert.raised", "open", count=2))  # pressed again: the count bumped

            r = await http.post(f"/api/alerts/{alert_id}/ack", headers=supervisor)
            assert r.status_code == 200, r.text
            acked = await everywhere(alert_of("alert.raised", "acked", count=2))
            assert all("supervisor" in str(m["data"]["alert"]["acked_by"]) for m in acked)

            r = await http.post(f"/api/alerts/{alert_id}/resolve", headers=supervisor)
            assert r.status_code == 200, r.text
            await everywhere(alert_of("alert.cleared", "resolved", count=2))


def test_alert_changes_reach_supervisors_on_both_workers(base: str) -> None:
    asyncio.run(_scenario(base))
