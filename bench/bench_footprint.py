"""Start time, memory and idle CPU of `hallq serve`: without devices, with the demo devices, with a camera.

    python bench/bench_footprint.py [--idle 60] [--only nodevices|demo|camera]

Each case starts a fresh server on a new SQLite file and measures: seconds from exec to the
first 200 of /healthz (and the CPU seconds the process used for it: less sensitive to a busy
machine), RSS (MB) right after, CPU share of one core while idle for ``--idle`` seconds
(server and its child processes), RSS at the end, and which heavy libraries the process
loaded (from /proc/<pid>/maps). Then ``restart``: the same again on the same database, now at
the newest migration — what a hall's server does every morning (a first start also migrates
and creates the first account). Prints one JSON object with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cycle import free_port  # noqa: E402

HEAVY = {"cv2": "cv2/", "numpy": "numpy/", "PIL": "PIL/", "openpyxl": "openpyxl/"}


def children(pid: int) -> list[int]:
    """The process and all its descendants (Linux /proc)."""
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            kids = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for kid in map(int, kids):
            found.append(kid)
            frontier.append(kid)
    return found


def cpu(pids: list[int]) -> float:
    """User+system CPU seconds of processes."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pids: list[int]) -> float:
    """Resident memory of processes in MB."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def loaded(pid: int) -> list[str]:
    """Heavy libraries mapped into the process."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return []
    python_files = {line.split()[-1] for line in maps.splitlines() if "site-packages" in line}
    return sorted(name for name, marker in HEAVY.items() if any(marker in f for f in python_files))


def run_once(case: str, cmd: list[str], port: int, idle: float) -> dict[str, Any]:
    """Start the server, measure, stop it."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{case}: the server exited with {proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.02)
        start_s = time.perf_counter() - started
        start_cpu = cpu(children(proc.pid))
        time.sleep(2)  # let start-up work (migrations, device connects) settle
        pids = children(proc.pid)
        rss_start = rss_mb(pids)
        before, t0 = cpu(pids), time.perf_counter()
        time.sleep(idle)
        pids = children(proc.pid)
        used = cpu(pids) - before
        return {"start_s": round(start_s, 2), "start_cpu_s": round(start_cpu, 2), "rss_mb_after_start": rss_start,
                "rss_mb_after_idle": rss_mb(pids), "processes": len(pids),
                "idle_cpu_pct_of_core": round(100 * used / (time.perf_counter() - t0), 2),
                "heavy_libraries_loaded": loaded(proc.pid)}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def measure(case: str, idle: float, restart: bool = True) -> dict[str, Any]:
    """One case: a first start on a new database, then (``restart``) a start on the same one."""
    with tempfile.TemporaryDirectory(prefix="hallq-footprint-") as tmp:
        port = free_port()
        config = ROOT / "config" / "demo.yaml"
        extra: list[str] = ["--demo"] if case in ("demo", "camera") else []
        if case != "demo":  # the demo hall's YAML with no devices, or with only its camera
            hall = yaml.safe_load(config.read_text(encoding="utf-8"))
            hall["devices"] = [d for d in hall.get("devices", []) if case == "camera" and d["kind"] == "camera"]
            config = Path(tmp) / f"{case}.yaml"
            config.write_text(yaml.safe_dump(hall, allow_unicode=True), encoding="utf-8")
        cmd = [sys.executable, "-m", "server.cli", "serve", "--config", str(config), "--port", str(port),
               "--database-url", f"sqlite:///{tmp}/hall.db", "--log-level", "warning", *extra]
        result = run_once(case, cmd, port, idle)
        if restart:
            result["restart"] = run_once(case, cmd, port, idle)
        return result


def main() -> None:
    """Run every case (or one) and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=60)
    parser.add_argument("--only", choices=["nodevices", "demo", "camera"], default=None)
    parser.add_argument("--no-restart", action="store_true", help="only the first start of each case")
    args = parser.parse_args()
    cases = [args.only] if args.only else ["nodevices", "demo", "camera"]
    load_before = [round(x, 2) for x in os.getloadavg()]
    result: dict[str, Any] = {case: measure(case, args.idle, not args.no_restart) for case in cases}
    result["load_avg"] = {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
