"""Full ticket cycles (issue → call-next → start → finish) against one `hallq serve` on SQLite.

    python bench/bench_cycle.py [--seconds 10] [--clients 32]

Starts a server process on a fresh SQLite file (or uses --url), runs N concurrent
asyncio clients on loopback, each with its own window and service, and prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
    uvloop = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[1]
STEPS = (("issue", "/api/tickets"), ("call_next", "/api/windows/{w}/call-next"),
         ("start", "/api/windows/{w}/start"), ("finish", "/api/windows/{w}/finish"))


def hall_yaml(clients: int) -> str:
    """A hall with one service and one window per client."""
    lines = ["hall: {name: 基准测试大厅, always_open: true}", "services:"]
    for i in range(clients):
        prefix = chr(65 + i // 26) + chr(65 + i % 26)
        lines.append(f"  - {{code: s{i:02d}, name: 业务{i}, prefix: {prefix}, number_end: 99999, width: 5}}")
    lines.append("windows:")
    lines += [f"  - {{number: {i + 1}, services: [s{i:02d}]}}" for i in range(clients)]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_accounts(config: Path, database_url: str) -> None:
    """Migrate and seed the demo accounts: clerk<n> for window n (password clerk<n>-demo), kiosk tokens k1/k2."""
    sys.path.insert(0, str(ROOT))
    from server.auth import seed_demo_accounts
    from server.config import load_config
    from server.store import QueueStore

    store = QueueStore(database_url, load_config(config))
    try:
        store.migrate()
        seed_demo_accounts(store, store.config)
    finally:
        store.close()


def start_server(workdir: Path, clients: int, extra: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    """Start `hallq serve` on a fresh SQLite file and wait until it answers."""
    config = workdir / "bench.yaml"
    config.write_text(hall_yaml(clients), encoding="utf-8")
    port = free_port()
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    seed_accounts(config, database_url)
    cmd = [sys.executable, "-m", "server.cli", "serve", "--config", str(config), "--port", str(port),
           "--database-url", database_url, "--log-level", "warning", *extra]
    # hundreds of tickets per second from two kiosk tokens on one address: lift the issue limits
    env = dict(os.environ, PYTHONPATH=str(ROOT), HALLQ_AUTH_KIOSK_RATE="1000000/60",
               HALLQ_AUTH_IP_RATE="1000000/60")
    with (workdir / "server.log").open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit((workdir / "server.log").read_text(errors="replace"))
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


async def sign_in(url: str, clients: int) -> list[dict[str, str]]:
    """Bearer headers of clerk<n> for window n (signed in before the clock starts: argon2 is slow on purpose)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        headers = []
        for i in range(clients):
            r = await http.post("/api/auth/token", data={"username": f"clerk{i + 1}", "password": f"clerk{i + 1}-demo"})
            if r.status_code != 200:
                raise SystemExit(f"sign-in as clerk{i + 1} failed: {r.status_code} {r.text[:200]}")
            headers.append({"Authorization": f"Bearer {r.json()['access_token']}"})
        return headers


async def client(url: str, index: int, stop_at: float, lat: dict[str, list[float]], errors: list[str],
                 clerk: dict[str, str]) -> int:
    """One clerk+citizen pair looping full cycles; returns completed cycles."""
    window, service = index + 1, f"s{index:02d}"
    cycles = 0
    kiosk = {"Authorization": f"Bearer hqd_demo-kiosk-k{1 + index % 2}"}  # the citizen takes it at a kiosk
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=httpx.Limits(max_connections=1)) as http:
        await http.post(f"/api/windows/{window}/open", headers=clerk)
        loop = asyncio.get_running_loop()
        while loop.time() < stop_at:
            for name, path in STEPS:
                started = time.perf_counter()
                if name == "issue":
                    r = await http.post(path, json={"service": service}, headers=kiosk)
                else:
                    r = await http.post(path.format(w=window), headers=clerk)
                lat[name].append(time.perf_counter() - started)
                if r.status_code >= 300:
                    errors.append(f"{name} {r.status_code} {r.text[:120]}")
                    break
            else:
                cycles += 1
    return cycles


def pct(values: list[float], q: float) -> float:
    """The q-quantile in milliseconds."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def cpu_seconds(pid: int | None) -> float:
    """User+system CPU time of a process (Linux /proc), 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(url: str, clients: int, seconds: float, warmup: float, pid: int | None = None) -> dict[str, Any]:
    """Warm up, then measure ``seconds`` of cycles from ``clients`` concurrent clients."""
    clerks = await sign_in(url, clients)
    if warmup > 0:
        scratch: dict[str, list[float]] = {name: [] for name, _ in STEPS}
        stop = asyncio.get_running_loop().time() + warmup
        await asyncio.gather(*(client(url, i, stop, scratch, [], clerks[i]) for i in range(clients)))
    # the harness should not add its own collector pauses to the measured tail
    gc.collect()
    gc.freeze()
    lat: dict[str, list[float]] = {name: [] for name, _ in STEPS}
    errors: list[str] = []
    started, cpu_before, client_before = time.perf_counter(), cpu_seconds(pid), time.process_time()
    stop = asyncio.get_running_loop().time() + seconds
    cycles = sum(await asyncio.gather(*(client(url, i, stop, lat, errors, clerks[i]) for i in range(clients))))
    elapsed = time.perf_counter() - started
    server_cpu = cpu_seconds(pid) - cpu_before
    client_cpu = time.process_time() - client_before
    every = [v for values in lat.values() for v in values]
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "ops": len(every),
        "cycles": cycles,
        "ops_per_s": round(len(every) / elapsed, 1),
        "cycles_per_s": round(cycles / elapsed, 1),
        "p50_ms": pct(every, 0.50),
        "p90_ms": pct(every, 0.90),
        "p99_ms": pct(every, 0.99),
        "max_ms": pct(every, 1.0),
        "mean_ms": round(statistics.fmean(every) * 1000, 2) if every else 0.0,
        "per_op": {name: {"n": len(v), "p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99)} for name, v in lat.items()},
        # CPU the server process spent per operation: a load-independent figure on a shared machine
        "server_cpu_ms_per_op": round(server_cpu * 1000 / len(every), 3) if every and pid else None,
        "server_cpu_util": round(server_cpu / elapsed, 2) if pid else None,
        # what one dedicated core could sustain at this CPU cost (the GIL keeps the server on ~one core)
        "est_ops_per_s_one_core": round(len(every) / server_cpu) if every and pid and server_cpu > 0 else None,
        "client_cpu_util": round(client_cpu / elapsed, 2),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def main() -> None:
    """Parse arguments, start the server, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--url", help="use a running server (its config must be bench.yaml's, accounts seeded)")
    parser.add_argument("--server-arg", action="append", default=[], help="extra `hallq serve` argument")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hallq-bench-") as tmp:
        proc = None
        url = args.url
        if url is None:
            proc, url = start_server(Path(tmp), args.clients, args.server_arg)
        try:
            pid = proc.pid if proc is not None else None
            runner = uvloop.run if uvloop is not None else asyncio.run  # a lighter client loop, like the server's
            result = runner(run(url, args.clients, args.seconds, args.warmup, pid))
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=15)
    result.update(store="sqlite", server_processes=1, cpus=os.cpu_count(), load_avg=os.getloadavg()[0])
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
