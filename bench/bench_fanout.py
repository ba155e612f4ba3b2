"""A call reaching N websocket hall displays: latency from the call request to each display.

    python bench/bench_fanout.py [--clients 1000] [--procs 4] [--calls 30] [--gap 0.3] [--client sansio|asyncio]

Starts one `hallq serve` on a fresh SQLite file, opens N websocket clients subscribed to the
``hall`` topic in ``--procs`` separate processes (so the clients' own JSON parsing does not
share a core with each other), then calls K tickets one after another. Each client stamps
the arrival of every ``ticket.called`` event; latency = arrival − the moment the call
request was sent (one machine, one clock). Prints JSON: p50/p90/p99/max over every
(display, call) pair, missed deliveries, server and clients' CPU per call.

The displays share this machine's two cores with the server, so their own CPU is part of the
figure. ``--client sansio`` (default) is a lean display: websockets' sans-I/O protocol on an
asyncio Protocol, the arrival stamped when the frame's bytes are read (before parsing), every
frame still parsed and checked. ``--client asyncio`` is websockets' asyncio client with a task
per display, stamped after ``recv()`` returns (the figure before issue 19's fan-out work).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cycle import cpu_seconds, pct, start_server

DISPLAY = "hqd_demo-display-hall"


async def _displays(url: str, count: int, ready: Any, done: Any, out: Any) -> None:
    import websockets

    arrivals: list[tuple[int, float]] = []
    ws_url = url.replace("http://", "ws://") + f"/ws?token={DISPLAY}"

    async def one() -> None:
        async with websockets.connect(ws_url, max_size=2**22, open_timeout=60, ping_interval=None) as ws:
            await ws.send(json.dumps({"op": "subscribe", "topics": ["hall"]}))
            while True:
                message = json.loads(await ws.recv())
                if message.get("type") == "snapshot":
                    break
            ready.put(1)
            while True:
                raw = await ws.recv()
                now = time.time()
                if '"ticket.called"' not in raw:  # the harness skips other events cheaply
                    continue
                message = json.loads(raw)
                if message.get("type") == "ticket.called":
                    arrivals.append((int(message["data"]["ticket"]["id"]), now))

    tasks = []
    for _ in range(count):
        tasks.append(asyncio.create_task(one()))
        await asyncio.sleep(0.002)  # do not stampede the accept queue
    while done.empty():
        await asyncio.sleep(0.05)
        for t in tasks:
            if t.done() and t.exception() is not None:
                out.put({"error": repr(t.exception())})
                return
    await asyncio.sleep(1.0)  # the last call's stragglers
    for t in tasks:
        t.cancel()
    out.put({"arrivals": arrivals, "clients": count})


async def _lean_displays(url: str, count: int, ready: Any, done: Any, out: Any) -> None:
    from websockets.client import ClientProtocol
    from websockets.frames import Frame, Opcode
    from websockets.http11 import Response
    from websockets.uri import parse_uri

    arrivals: list[tuple[int, float]] = []
    errors: list[str] = []
    uri = parse_uri(url.replace("http://", "ws://") + f"/ws?token={DISPLAY}")
    subscribe = json.dumps({"op": "subscribe", "topics": ["hall"]}).encode()

    class Display(asyncio.Protocol):
        """One hall display: handshake, subscribe, then stamp every ticket.called as its bytes arrive."""

        def __init__(self) -> None:
            self.conn = ClientProtocol(uri, max_size=2**22)
            self.subscribed = False

        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.conn.send_request(self.conn.connect())
            self.flush()

        def data_received(self, data: bytes) -> None:
            now = time.time()  # the display has the bytes; parsing them is its own CPU's business
            self.conn.receive_data(data)
            for event in self.conn.events_received():
                if isinstance(event, Response):
                    if event.status_code != 101:
                        errors.append(f"handshake {event.status_code}")
                    else:
                        self.conn.send_text(subscribe)
                elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                    raw = bytes(event.data)
                    if not self.subscribed:
                        if json.loads(raw).get("type") == "snapshot":
                            self.subscribed = True
                            ready.put(1)
                    elif b'"ticket.called"' in raw:  # the harness skips other events cheaply
                        message = json.loads(raw)
                        if message.get("type") == "ticket.called":
                            arrivals.append((int(message["data"]["ticket"]["id"]), now))
            self.flush()

        def flush(self) -> None:
            for chunk in self.conn.data_to_send():  # pongs, the subscribe message, the close
                if chunk:
                    self.transport.write(chunk)

        def connection_lost(self, exc: Exception | None) -> None:
            if not done.empty():
                return
            errors.append(f"connection lost: {exc!r}")

    loop = asyncio.get_running_loop()
    transports = []
    for _ in range(count):
        transport, _protocol = await loop.create_connection(Display, uri.host, uri.port)
        transports.append(transport)
        await asyncio.sleep(0.002)  # do not stampede the accept queue
    while done.empty():
        await asyncio.sleep(0.05)
        if errors:
            out.put({"error": errors[0]})
            return
    await asyncio.sleep(1.0)  # the last call's stragglers
    for transport in transports:
        transport.close()
    out.put({"arrivals": arrivals, "clients": count})


def display_process(url: str, count: int, ready: Any, done: Any, out: Any, client: str = "sansio") -> None:
    """Entry point of one client process."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    run = _lean_displays if client == "sansio" else _displays
    asyncio.run(run(url, count, ready, done, out))


async def drive(url: str, calls: int, gap: float) -> dict[int, float]:
    """Issue ``calls`` tickets, then call them one by one; ticket id → time the call was sent."""
    sent: dict[int, float] = {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        r = await http.post("/api/auth/token", data={"username": "clerk1", "password": "clerk1-demo"})
        clerk = {"Authorization": f"Bearer {r.json()['access_token']}"}
        await http.post("/api/windows/1/open", headers=clerk)
        kiosk = {"Authorization": "Bearer hqd_demo-kiosk-k1"}
        for _ in range(calls):
            r = await http.post("/api/tickets", json={"service": "s00"}, headers=kiosk)
            r.raise_for_status()
        await asyncio.sleep(1.0)
        for _ in range(calls):
            started = time.time()
            r = await http.post("/api/windows/1/call-next", headers=clerk)
            r.raise_for_status()
            sent[int(r.json()["id"] if "id" in r.json() else r.json()["ticket"]["id"])] = started
            await asyncio.sleep(gap)
            for step in ("start", "finish"):  # the window must be free before the next call
                (await http.post(f"/api/windows/1/{step}", headers=clerk)).raise_for_status()
    return sent


def main() -> None:
    """Parse arguments, start the server and the display processes, call, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between calls")
    parser.add_argument("--client", choices=("sansio", "asyncio"), default="sansio",
                        help="the display implementation (see the module docstring)")
    args = parser.parse_args()
    os.environ.setdefault("HALLQ_AUTH_WS_PER_ADDRESS", str(args.clients + 10))
    os.environ.setdefault("HALLQ_AUTH_WS_MAX_CONNECTIONS", str(args.clients + 100))
    # every display comes from 127.0.0.1: lift the transport caps too (server/auth/serving.py)
    os.environ.setdefault("HALLQ_AUTH_CONNECTIONS_PER_ADDRESS", str(args.clients + 10))
    os.environ.setdefault("HALLQ_AUTH_MAX_CONNECTIONS", str(args.clients + 100))
    with tempfile.TemporaryDirectory(prefix="hallq-fanout-") as tmp:
        proc, url = start_server(Path(tmp), 1, [])
        ctx = mp.get_context("spawn")
        ready, done, out = ctx.Queue(), ctx.Queue(), ctx.Queue()
        share = [args.clients // args.procs + (1 if i < args.clients % args.procs else 0) for i in range(args.procs)]
        workers = [ctx.Process(target=display_process, args=(url, n, ready, done, out, args.client))
                   for n in share if n]
        try:
            for w in workers:
                w.start()
            connected, deadline = 0, time.monotonic() + 180
            while connected < args.clients and time.monotonic() < deadline:
                try:
                    connected += ready.get(timeout=1)
                except Exception:  # queue.Empty: keep waiting until the deadline
                    if not out.empty():
                        raise SystemExit(f"a display failed: {out.get()}") from None
            if connected < args.clients:
                raise SystemExit(f"only {connected} of {args.clients} displays connected")
            cpu_before = cpu_seconds(proc.pid)
            clients_before = sum(cpu_seconds(w.pid) for w in workers)
            sent = asyncio.run(drive(url, args.calls, args.gap))
            server_cpu = cpu_seconds(proc.pid) - cpu_before
            clients_cpu = sum(cpu_seconds(w.pid) for w in workers) - clients_before
            for _ in workers:
                done.put(1)
            results = [out.get(timeout=60) for _ in workers]
        finally:
            for w in workers:
                w.join(timeout=10)
                if w.is_alive():
                    w.kill()
            proc.terminate()
            proc.wait(timeout=20)
    errors = [r["error"] for r in results if "error" in r]
    latencies = [at - sent[tid] for r in results for tid, at in r.get("arrivals", []) if tid in sent]
    expected = args.clients * len(sent)
    report: dict[str, Any] = {
        "clients": args.clients, "procs": args.procs, "client": args.client, "calls": len(sent),
        "deliveries": len(latencies), "missed": expected - len(latencies),
        "p50_ms": pct(latencies, 0.5), "p90_ms": pct(latencies, 0.9), "p99_ms": pct(latencies, 0.99),
        "max_ms": pct(latencies, 1.0),
        "server_cpu_ms_per_call": round(server_cpu * 1000 / max(1, len(sent)), 1),
        # the displays share this machine's cores with the server: their CPU is part of the latency
        "clients_cpu_ms_per_call": round(clients_cpu * 1000 / max(1, len(sent)), 1),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "errors": errors[:3],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
