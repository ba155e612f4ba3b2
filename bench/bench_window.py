"""Window-device latency: from a call at the HTTP API to what the hall sees and hears.

Runs the real app (uvicorn on 127.0.0.1, SQLite in a temp folder, demo hall with the
window devices of config/demo.yaml on simulators) in this process and
measures, for N calls of ``POST /api/windows/{n}/call-next``:

- ``led``: the window strip's A3 06 frame with the number fully received by its simulator
- ``keypad``: the caller keypad's display frame with the number received by the bus simulator
- ``announcement_uncached``: ``announcement.ready`` for the call (espeak-ng renders)
- ``announcement_cached``: ``announcement.ready`` after ``POST …/recall`` (same sentence, cache hit)

Prints JSON with p50/p99/max in milliseconds. Usage: ``python bench/bench_window.py [--calls 200]``.
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
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from displays import led_layout  # noqa: E402
from drivers.keypad import codec as keypad_codec  # noqa: E402
from drivers.led import codec as led_codec  # noqa: E402
from server.app import create_app  # noqa: E402
from server.settings import DEMO_CONFIG, Settings  # noqa: E402

WINDOWS = (1, 2, 3, 4)  # general (A) is their primary service
WINDOW_KINDS = ("led_display", "keypad_bus", "announcer")


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p99/max in ms."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"n": len(values), "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(p99 * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2)}  # fmt: skip


def write_config(folder: Path) -> Path:
    """demo.yaml with only its window devices (and the announcer cache in ``folder``)."""
    config = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    devices = [d for d in config["devices"] if d["kind"] in WINDOW_KINDS]
    for device in devices:
        if device["kind"] == "announcer":
            device["options"]["cache_dir"] = str(folder / "announcements")
            device["options"]["folder"] = str(folder / "clips") if device["driver"] == "clips" else None
            device["options"] = {k: v for k, v in device["options"].items() if v is not None}
    config["devices"] = devices
    path = folder / "hall.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


class Stamps:
    """First time each expected thing was seen (perf_counter)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], float] = {}
        self.waiters: dict[tuple[str, str], asyncio.Event] = {}

    def mark(self, kind: str, key: str) -> None:
        self.seen.setdefault((kind, key), time.perf_counter())
        event = self.waiters.get((kind, key))
        if event is not None:
            event.set()

    async def wait(self, kind: str, key: str, timeout: float = 5.0) -> float | None:
        if (kind, key) not in self.seen:
            event = self.waiters.setdefault((kind, key), asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), timeout)
            except TimeoutError:
                return None
        return self.seen[(kind, key)]


async def run(calls: int) -> dict[str, Any]:
    """Start the app, make ``calls`` calls, collect latencies."""
    # a real kiosk issues a few tickets a minute; the bench issues hundreds in seconds
    os.environ.setdefault("HALLQ_AUTH_KIOSK_RATE", "100000/60")
    folder = Path(tempfile.mkdtemp(prefix="hallq-bench-window-"))
    settings = Settings(config=write_config(folder), database_url=f"sqlite:///{folder / 'hall.db'}", demo=True,
                        event_poll_seconds=0)  # fmt: skip
    app = create_app(settings)  # the window wiring and /api/announcements come with the devices
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    serve = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    manager = app.state.devices
    for device_id in [f"led-w{n}" for n in WINDOWS] + ["keypads-bus1"]:
        await manager.devices[device_id].wait_ready(10)
    stamps = Stamps()

    def led_observer(window: int) -> Any:
        def seen(frame: led_codec.BxFrame) -> None:
            if frame.command == led_codec.CMD_DYNAMIC_TEXT:
                for block in led_codec.parse_dynamic_text(frame):
                    stamps.mark(f"led{window}", led_codec.strip_color_codes(block.text.decode("gb2312", "replace")))
        return seen

    for n in WINDOWS:
        manager.simulators[f"led-w{n}"].observers.append(led_observer(n))

    def keypad_seen(frame: keypad_codec.KeypadFrame) -> None:
        if frame.func == 0x02 and len(frame.data) == 6:
            stamps.mark(f"keypad{frame.address}", "".join(str(d) for d in frame.data[3:] if d < 10))

    manager.simulators["keypads-bus1"].observers.append(keypad_seen)
    sub = app.state.hub.subscribe(["hall"])

    async def follow() -> None:
        while True:
            message = await sub.get()
            if message.get("type") == "announcement.ready":
                data = message["data"]
                stamps.mark("cached" if data["cached"] else "uncached", f"{data['ticket']}@{data['window']}")

    follower = asyncio.create_task(follow())
    lat: dict[str, list[float]] = {"led": [], "keypad": [], "announcement_uncached": [], "announcement_cached": []}
    api: list[float] = []
    missing: dict[str, int] = {k: 0 for k in lat}
    # the demo device host acts for the windows' keypads; tickets come from the demo kiosk
    host = {"Authorization": "Bearer hqd_demo-device-host"}
    kiosk = {"Authorization": "Bearer hqd_demo-kiosk-k1"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10, headers=host) as client:
        for n in WINDOWS:
            (await client.post(f"/api/windows/{n}/open", json={})).raise_for_status()
        for _ in range(calls):
            (await client.post("/api/tickets", json={"service": "general", "channel": "kiosk", "kiosk": "k1"},
                                     headers=kiosk)).raise_for_status()
        await asyncio.sleep(0.5)  # let idle texts settle
        for i in range(calls):
            n = WINDOWS[i % len(WINDOWS)]
            if (await client.get(f"/api/windows/{n}")).json().get("current"):
                (await client.post(f"/api/windows/{n}/finish")).raise_for_status()
            t0 = time.perf_counter()
            reply = await client.post(f"/api/windows/{n}/call-next")
            api.append(time.perf_counter() - t0)
            reply.raise_for_status()
            number = reply.json()["number"]
            led_text = led_layout.calling(number, n, 160).text
            digits = "".join(str(keypad_codec.digits(int(number[1:]))[k]) for k in range(3))
            for kind, stamp in (("led", await stamps.wait(f"led{n}", led_text)),
                                ("keypad", await stamps.wait(f"keypad{n}", digits)),
                                ("announcement_uncached", await stamps.wait("uncached", f"{number}@{n}"))):
                if stamp is None:
                    missing[kind] += 1
                else:
                    lat[kind].append(stamp - t0)
            t1 = time.perf_counter()
            (await client.post(f"/api/windows/{n}/recall")).raise_for_status()
            stamp = await stamps.wait("cached", f"{number}@{n}")
            if stamp is None:
                missing["announcement_cached"] += 1
            else:
                lat["announcement_cached"].append(stamp - t1)
            stamps.seen = {k: v for k, v in stamps.seen.items() if not k[0].startswith(("led", "keypad"))}
    follower.cancel()
    server.should_exit = True
    async with asyncio.timeout(30):
        await serve
    return {
        "bench": "window_devices",
        "from": "POST /api/windows/{n}/call-next (recall for the cached announcement), uvicorn in-process",
        "calls": calls,
        "windows": list(WINDOWS),
        "api_call_next": percentiles(api),
        **{k: percentiles(v) for k, v in lat.items()},
        "missing": missing,
        "announcer": "espeak-ng cmn, chime + 2 repeats",
        "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews the tail
        "cpus": os.cpu_count(),
    }


def main() -> None:
    """CLI entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.calls)), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
