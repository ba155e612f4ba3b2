"""Ticket printing latency: issue at the API -> last byte of the ticket at the printer simulator.

    python bench/bench_print.py [--tickets 200]

Runs the real app (SQLite store, uvicorn on 127.0.0.1) in demo mode with the ESC/POS
simulators, in this process, so the simulator's receive time (the cut command parsed)
and the client's clock are the same ``perf_counter``. One sample is ``POST
/api/kiosks/k1/tickets`` start -> ticket at the simulator (the kiosk path: print job,
claimed by the embedded device host's printer wiring, server/kiosk/printing.py). Also
measures the driver alone (bytes build + status before and after + send). Prints JSON;
target p99 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from drivers.contract import TicketContent  # noqa: E402
from server.app import create_app  # noqa: E402
from server.config import HallConfig, load_config  # noqa: E402
from server.settings import DEMO_CONFIG, Settings  # noqa: E402

PRINTERS = [
    {"id": "printer-k1", "kind": "ticket_printer", "driver": "escpos", "url": "sim", "kiosk": "k1",
     "options": {"encoding": "gb18030", "paper_mm": 80, "poll_interval": 3}},
]


def _config() -> HallConfig:
    cfg = load_config(DEMO_CONFIG)
    if any(d.kind == "ticket_printer" for d in cfg.devices):
        return cfg
    data = cfg.model_dump()
    data["devices"] = [*data["devices"], *PRINTERS]
    return HallConfig.model_validate(data)


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p99_ms": round(pick(0.99) * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2), "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}


async def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(tickets: int, token: str = "hqd_demo-kiosk-k1") -> dict[str, Any]:
    # a real kiosk issues a few tickets a minute (limit 30/min); the bench issues 200 in seconds
    os.environ.setdefault("HALLQ_AUTH_KIOSK_RATE", "100000/60")
    """Serve the app in this loop, issue ``tickets`` kiosk tickets, time each to the simulator."""
    tmp = Path(tempfile.mkdtemp(prefix="hallq-bench-print-"))
    port = await _free_port()
    settings = Settings(database_url=f"sqlite:///{tmp / 'hall.db'}", demo=True, event_poll_seconds=0,
                        host="127.0.0.1", port=port)
    app = create_app(settings, config=_config())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    serve = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            await asyncio.sleep(0.01)
    try:
        manager = app.state.services.devices.manager
        printer_id = next(d for d in manager.specs.values() if d.kind == "ticket_printer" and d.config.kiosk == "k1").id
        sim = manager.simulators[printer_id]
        async with asyncio.timeout(10):
            while not manager.device(printer_id).health.available:
                await asyncio.sleep(0.01)
        sim.render_png = False  # PNG rendering is for eyes, not part of the printer's latency
        samples: list[float] = []
        headers = {"Authorization": f"Bearer {token}"} if token else {}  # the demo kiosk's device token
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10, headers=headers) as client:
            for i in range(tickets):
                before = sim.printed
                t0 = time.perf_counter()
                r = await client.post("/api/kiosks/k1/tickets", json={"service": "general"})
                r.raise_for_status()
                if not r.json()["print"]["printed"]:
                    raise RuntimeError(f"ticket {i} not printed: {r.json()['print']}")
                got = await sim.wait_ticket(before + 1, 5.0)
                samples.append(got["received_at"] - t0)
        printer = manager.device(printer_id)
        content = TicketContent("示范区政务服务中心", "综合受理", "A001", 3, 12, datetime.now(),
                                "http://127.0.0.1:8000/t/benchtoken", notice="请携带本人有效身份证件。")
        driver: list[float] = []
        for _ in range(tickets):
            before = sim.printed
            t0 = time.perf_counter()
            await printer.print_ticket(content)
            got = await sim.wait_ticket(before + 1, 5.0)
            driver.append(got["received_at"] - t0)
        return {
            "benchmark": "issue at API -> last ticket byte at ESC/POS simulator",
            "tickets": tickets,
            "path": "POST /api/kiosks/k1/tickets -> print job -> device host printer wiring",
            "transport": "socket:// to the in-process simulator, DLE EOT 1,2,4 before and after each ticket",
            "ticket_bytes": got["bytes"],
            "api_to_printer": _stats(samples),
            "driver_only": _stats(driver),
            "target_p99_ms": 100,
        }
    finally:
        server.should_exit = True
        async with asyncio.timeout(20):
            await serve


def main() -> None:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--token", default="hqd_demo-kiosk-k1", help="kiosk device token ('' for none)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.tickets, args.token)), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
