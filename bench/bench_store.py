"""Issue and call throughput of `hallq serve` on SQLite and on PostgreSQL with 1, 2 and 4 workers.

    python bench/bench_store.py [--seconds 5] [--clients 16] [--pg-workers 1,2,4] [--only sqlite|postgresql]

Each part starts real server processes (``hallq serve --workers N``) on a fresh database — a
throwaway PostgreSQL started with initdb/pg_ctl on 127.0.0.1 (as nobody when root), like
tests/conftest.py — then measures two phases from ``--clients`` concurrent loopback clients:
*issue* (kiosk issues, each client its own service) and *call* (each clerk loops call-next →
start → finish over the tickets the issue phase left). It prints JSON with the CPU seconds per
wall second each process group used (server workers, PostgreSQL), and server CPU per operation,
the load-independent figure on a shared machine. PostgreSQL commits like SQLite's WAL with
synchronous=NORMAL (``synchronous_commit=off``) unless ``--pg-durable``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cycle import ROOT, free_port, hall_yaml, pct, seed_accounts, sign_in

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg_bin(name: str) -> str:
    for d in PG_BIN_DIRS:
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"PostgreSQL binary {name} not found")
    return found


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: drop to nobody
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--", *cmd]
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]


@contextmanager
def postgres(base: Path, durable: bool) -> Iterator[tuple[str, Path]]:
    """A throwaway PostgreSQL on 127.0.0.1: (SQLAlchemy URL, data directory)."""
    data, sock = base / "data", base / "sock"
    sock.mkdir(parents=True)
    if os.geteuid() == 0:
        os.chmod(base, 0o755)
        shutil.chown(base, "nobody")
        shutil.chown(sock, "nobody")
    port = free_port()
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
    subprocess.run(_as_postgres_user([_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                      "-E", "UTF8", "--no-sync"]), check=True, capture_output=True, env=env)
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c max_connections=200"
    if not durable:
        # SQLite runs WAL with synchronous=NORMAL (server/store/engine.py): a commit is not fsynced
        # either; synchronous_commit=off is PostgreSQL's like-for-like (the WAL writer flushes within
        # 200 ms; no corruption, at worst the last moments lost on a machine crash)
        opts += " -c synchronous_commit=off"
    subprocess.run(_as_postgres_user([_pg_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"),
                                      "-w", "-t", "60", "start"]), check=True, capture_output=True, env=env)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", data
    finally:
        subprocess.run(_as_postgres_user([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, env=env)


def _stat(pid: int) -> tuple[int, int, float] | None:
    """(ppid, pgid, CPU seconds) of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[2]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_cpu(match: Callable[[int, int, int], bool]) -> float:
    """CPU seconds of every live process for which ``match(pid, ppid, pgid)`` holds."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and match(int(entry), st[0], st[1]):
                total += st[2]
    return total


def start_server(workdir: Path, clients: int, database_url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """`hallq serve --workers N` in its own process group, answering /healthz."""
    config = workdir / "bench.yaml"
    config.write_text(hall_yaml(clients), encoding="utf-8")
    seed_accounts(config, database_url)
    port = free_port()
    cmd = [sys.executable, "-m", "server.cli", "serve", "--config", str(config), "--port", str(port),
           "--database-url", database_url, "--log-level", "warning", "--no-devices", "--workers", str(workers)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), HALLQ_AUTH_KIOSK_RATE="1000000/60",
               HALLQ_AUTH_IP_RATE="1000000/60")
    with (workdir / "server.log").open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit((workdir / "server.log").read_text(errors="replace"))
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                time.sleep(1.0 if workers > 1 else 0.2)  # every worker up, not just the first
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, 9)
    raise SystemExit("server did not start")


async def issuer(http: httpx.AsyncClient, index: int, stop_at: float, lat: list[float], errors: list[str]) -> None:
    """One kiosk issuing tickets of its own service until ``stop_at``."""
    kiosk = {"Authorization": f"Bearer hqd_demo-kiosk-k{1 + index % 2}"}
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        t0 = time.perf_counter()
        r = await http.post("/api/tickets", json={"service": f"s{index:02d}"}, headers=kiosk)
        lat.append(time.perf_counter() - t0)
        if r.status_code >= 300:
            errors.append(f"issue {r.status_code} {r.text[:120]}")


async def caller(http: httpx.AsyncClient, index: int, stop_at: float, lat: dict[str, list[float]],
                 errors: list[str], clerk: dict[str, str]) -> None:
    """One clerk looping call-next → start → finish at its window until ``stop_at`` or nothing waits."""
    window = index + 1
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        for step in ("call_next", "start", "finish"):
            t0 = time.perf_counter()
            r = await http.post(f"/api/windows/{window}/{step.replace('_', '-')}", headers=clerk)
            lat[step].append(time.perf_counter() - t0)
            if r.status_code == 204:
                return  # the issue phase's tickets for this service are used up
            if r.status_code >= 300:
                errors.append(f"{step} {r.status_code} {r.text[:120]}")
                break


def _phase(n: int, elapsed: float, lat: list[float], server_cpu: float, db_cpu: float | None,
           client_cpu: float, counts: dict[str, float]) -> dict[str, Any]:
    return {
        "ops": n, "seconds": round(elapsed, 2), "ops_per_s": round(n / elapsed, 1),
        "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99),
        "server_cpu_ms_per_op": round(server_cpu * 1000 / n, 3) if n else None,
        "server_cores": round(server_cpu / elapsed, 2),
        "postgres_cpu_ms_per_op": round(db_cpu * 1000 / n, 3) if n and db_cpu is not None else None,
        "postgres_cores": round(db_cpu / elapsed, 2) if db_cpu is not None else None,
        # the load generator shares the cores: what is left for server and database is 2 minus this
        "client_cpu_ms_per_op": round(client_cpu * 1000 / n, 3) if n else None,
        "client_cores": round(client_cpu / elapsed, 2),
        # PostgreSQL: transactions and new sessions per operation (pg_stat_database), load-independent
        **{f"{k}_per_op": round(v / n, 2) for k, v in counts.items() if n},
    }


async def measure(url: str, clients: int, seconds: float, server_cpu: Callable[[], float],
                  db_cpu: Callable[[], float] | None,
                  db_counts: Callable[[], dict[str, float]] | None = None) -> dict[str, Any]:
    """Warm-up, then the issue phase, then the call phase."""
    clerks = await sign_in(url, clients)
    limits = httpx.Limits(max_connections=1)
    https = [httpx.AsyncClient(base_url=url, timeout=15, limits=limits) for _ in range(clients)]
    errors: list[str] = []
    try:
        for i, http in enumerate(https):
            await http.post(f"/api/windows/{i + 1}/open", headers=clerks[i])
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(issuer(h, i, loop.time() + 1.0, [], []) for i, h in enumerate(https)))  # warm-up
        result: dict[str, Any] = {}
        counts = _Counts(db_counts)
        await counts.start()
        issue_lat: list[float] = []
        c0, d0, t0, k0 = server_cpu(), db_cpu() if db_cpu else None, time.perf_counter(), time.process_time()
        stop = loop.time() + seconds
        await asyncio.gather(*(issuer(h, i, stop, issue_lat, errors) for i, h in enumerate(https)))
        elapsed = time.perf_counter() - t0
        cpu = (server_cpu() - c0, db_cpu() - d0 if db_cpu and d0 is not None else None, time.process_time() - k0)
        result["issue"] = _phase(len(issue_lat), elapsed, issue_lat, *cpu, await counts.start())
        call_lat: dict[str, list[float]] = {"call_next": [], "start": [], "finish": []}
        c0, d0, t0, k0 = server_cpu(), db_cpu() if db_cpu else None, time.perf_counter(), time.process_time()
        stop = loop.time() + seconds
        await asyncio.gather(*(caller(h, i, stop, call_lat, errors, clerks[i]) for i, h in enumerate(https)))
        elapsed = time.perf_counter() - t0
        every = [v for values in call_lat.values() for v in values]
        cpu = (server_cpu() - c0, db_cpu() - d0 if db_cpu and d0 is not None else None, time.process_time() - k0)
        call = _phase(len(every), elapsed, every, *cpu, await counts.start())
        call["calls_per_s"] = round(len(call_lat["call_next"]) / elapsed, 1)
        call["call_next_p50_ms"] = pct(call_lat["call_next"], 0.5)
        call["call_next_p99_ms"] = pct(call_lat["call_next"], 0.99)
        result["call"] = call
    finally:
        for http in https:
            await http.aclose()
    result["errors"] = len(errors)
    result["first_errors"] = errors[:3]
    return result


class _Counts:
    """Deltas of the database's own counters between phases."""

    def __init__(self, read: Callable[[], dict[str, float]] | None) -> None:
        self.read, self.last = read, {}

    async def start(self) -> dict[str, float]:
        """The counters' change since the last call (empty without a reader)."""
        if self.read is None:
            return {}
        await asyncio.sleep(1.2)  # backends report their statistics at most once a second
        now = self.read()
        delta = {k: v - self.last.get(k, 0.0) for k, v in now.items()}
        self.last = now
        return delta


def pg_counts(url: str) -> Callable[[], dict[str, float]]:
    """Transactions and sessions of the bench database so far (pg_stat_database)."""
    import psycopg

    def read() -> dict[str, float]:
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as c:
            row = c.execute("SELECT xact_commit + xact_rollback, xact_rollback, sessions FROM pg_stat_database "
                            "WHERE datname = current_database()").fetchone()
        assert row is not None
        # this reader adds one session and one transaction per phase: noise beside hundreds of operations
        return {"pg_transactions": float(row[0]), "pg_rollbacks": float(row[1]), "pg_sessions": float(row[2])}

    return read


def run_part(store: str, workers: int, clients: int, seconds: float, pg_url: str | None,
             pg_data: Path | None) -> dict[str, Any]:
    """One store × worker count on a fresh database."""
    with tempfile.TemporaryDirectory(prefix="hallq-bench-store-") as tmp:
        work = Path(tmp)
        db_cpu: Callable[[], float] | None = None
        if store == "sqlite":
            url = f"sqlite:///{work / 'bench.db'}"
        else:
            assert pg_url is not None and pg_data is not None
            import psycopg

            name = f"b_{workers}_{int(time.time() * 1000) % 10**8}"
            with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{name}"')
            url = pg_url.rsplit("/", 1)[0] + f"/{name}"
            postmaster = int((pg_data / "postmaster.pid").read_text().split()[0])
            db_cpu = lambda: group_cpu(lambda pid, ppid, _g: pid == postmaster or ppid == postmaster)  # noqa: E731
        proc, base = start_server(work, clients, url, workers)
        try:
            result = asyncio.run(measure(base, clients, seconds,
                                         lambda: group_cpu(lambda _p, _pp, pgid: pgid == proc.pid), db_cpu,
                                         pg_counts(url) if store != "sqlite" else None))
        finally:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
    return {"store": store, "workers": workers, "clients": clients, **result,
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def main() -> None:
    """Parse arguments, run every part, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--pg-workers", default="1,2,4")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--pg-durable", action="store_true",
                        help="fsync every PostgreSQL commit (default: synchronous_commit=off, like SQLite's NORMAL)")
    args = parser.parse_args()
    parts: list[dict[str, Any]] = []
    if args.only != "postgresql":
        parts.append(run_part("sqlite", 1, args.clients, args.seconds, None, None))
    if args.only != "sqlite":
        with tempfile.TemporaryDirectory(prefix="hallq-bench-pg-") as tmp, \
                postgres(Path(tmp), args.pg_durable) as (pg_url, data):
            for workers in (int(w) for w in args.pg_workers.split(",")):
                parts.append(run_part("postgresql", workers, args.clients, args.seconds, pg_url, data))
    out: dict[str, Any] = {"cpus": os.cpu_count(), "pg_commit": "fsync" if args.pg_durable else "async",
                           "parts": parts}
    sqlite = next((p for p in parts if p["store"] == "sqlite"), None)
    pg1 = next((p for p in parts if p["store"] == "postgresql" and p["workers"] == 1), None)
    if sqlite and pg1:
        out["pg1_vs_sqlite_issue"] = round(pg1["issue"]["ops_per_s"] / sqlite["issue"]["ops_per_s"], 2)
        out["pg1_vs_sqlite_call"] = round(pg1["call"]["ops_per_s"] / sqlite["call"]["ops_per_s"], 2)
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
