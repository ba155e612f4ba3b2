"""Report query times on a busy month: ≈30,000 tickets on SQLite.

    python bench/bench_reports.py [--tickets 30000] [--days 30]

Fills a fresh migrated SQLite database (``server.app.open_store``, the demo hall) with a month
of tickets and their transitions written directly as rows (issue, call, start, finish; some
no-shows, recalls, transfers, ratings), then times every report of ``server/reports/report.py``
over the whole month and prints JSON: wall and CPU seconds per report, and the load average
(the machine is shared: wall times grow with other load). Target: each report under 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from server.app import open_store  # noqa: E402
from server.config import load_config  # noqa: E402
from server.reports.report import KINDS, build, build_assessment, staffing_report  # noqa: E402
from server.settings import DEMO_CONFIG  # noqa: E402
from server.store.tables import tickets, transitions  # noqa: E402


def fill(store: Any, n: int, days: int, seed: int = 7) -> dt.date:
    """Insert ``n`` tickets over ``days`` business days ending yesterday; the first day."""
    rnd = random.Random(seed)
    config = store.config
    services = [s.code for s in config.services]
    windows = [w.number for w in config.windows]
    tz = config.hall.tz
    first = dt.date(2026, 11, 1)
    rows, steps = [], []
    for i in range(1, n + 1):
        day = first + dt.timedelta(days=i * days // (n + 1))
        t0 = int(dt.datetime.combine(day, dt.time(9), tz).timestamp() * 1000) + rnd.randrange(8 * 3600_000)
        call = t0 + rnd.randrange(1, 3600_000)
        start, finish = call + rnd.randrange(1, 120_000), 0
        state = rnd.choices(["done", "no_show", "cancelled", "transferred"], [90, 5, 3, 2])[0]
        window = rnd.choice(windows)
        actor = f"clerk:C{window:04d}@{window}"
        rating = rnd.choice([None, 1, 2, 3, 4, 5, 5, 5]) if state == "done" else None
        rows.append({"id": i, "business_day": day.isoformat(), "service": rnd.choice(services), "seq_no": i,
                     "number": f"A{i % 1000:03d}", "state": state, "priority": "normal", "rank": 3,
                     "channel": "kiosk", "sort_at": t0, "issued_at": t0, "state_at": t0, "window": window,
                     "recall_count": 0, "token": f"t{i}", "rating": rating, "counted": 1})
        steps.append({"ticket_id": i, "from_state": None, "to_state": "issued", "action": "issue", "at": t0,
                      "actor": "kiosk:k1", "window": None})
        if state != "cancelled":
            steps.append({"ticket_id": i, "from_state": "issued", "to_state": "called", "action": "call",
                          "at": call, "actor": actor, "window": window})
            if rnd.random() < 0.1:
                steps.append({"ticket_id": i, "from_state": "called", "to_state": "called", "action": "recall",
                              "at": call + 30_000, "actor": actor, "window": window})
        if state == "done":
            finish = start + rnd.randrange(60_000, 1200_000)
            steps += [{"ticket_id": i, "from_state": "called", "to_state": "serving", "action": "start",
                       "at": start, "actor": actor, "window": window},
                      {"ticket_id": i, "from_state": "serving", "to_state": "done", "action": "finish",
                       "at": finish, "actor": actor, "window": window}]
        elif state != "cancelled":
            action = "no_show" if state == "no_show" else "transfer"
            steps.append({"ticket_id": i, "from_state": "called", "to_state": state, "action": action,
                          "at": start, "actor": actor, "window": window})
        else:
            steps.append({"ticket_id": i, "from_state": "issued", "to_state": "cancelled", "action": "cancel",
                          "at": t0 + 60_000, "actor": "citizen", "window": None})
    with store.engine.begin() as conn:
        conn.execute(insert(tickets), rows)
        conn.execute(insert(transitions), steps)
    return first


def main() -> None:
    """Fill, time each report over the month, print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=30_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    config = load_config(DEMO_CONFIG).model_copy(update={"devices": []})
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}", config)
        t = time.perf_counter()
        first = fill(store, args.tickets, args.days)
        fill_s = time.perf_counter() - t
        last = first + dt.timedelta(days=args.days - 1)
        times: dict[str, float] = {}
        cpu: dict[str, float] = {}
        figures: dict[str, Any] = {}
        jobs: list[tuple[str, Any]] = [(k, lambda k=k: build(store.engine, config, k, first, last)) for k in KINDS]
        jobs += [("assessment", lambda: build_assessment(store.engine, config, first, last)),
                 ("staffing", lambda: staffing_report(store.engine, config, first, last))]
        issued = 0
        for name, job in jobs:
            t, c = time.perf_counter(), time.process_time()
            report = job()
            times[name] = round(time.perf_counter() - t, 3)
            cpu[name] = round(time.process_time() - c, 3)
            figures[name] = len(report["rows"])
            issued = report["totals"].get("issued", issued)
        store.close()
    print(json.dumps({"tickets": args.tickets, "days": args.days, "issued_in_report": issued,
                      "fill_seconds": round(fill_s, 2), "report_seconds": times, "report_cpu_seconds": cpu,
                      "rows": figures, "target_seconds": 2.0, "all_under_target": max(times.values()) < 2.0,
                      "load_average": [round(x, 2) for x in os.getloadavg()]}, indent=1))


if __name__ == "__main__":
    main()
