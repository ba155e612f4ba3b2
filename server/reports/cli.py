"""``hallq report``: the same reports as ``GET /api/reports/{kind}``, written to a file or stdout."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

KINDS = ("summary", "services", "windows", "staff", "hourly", "tickets", "assessment")


def add_parser(sub: Any) -> None:
    """Add the ``report`` subcommand to ``hallq``'s subparsers."""
    p = sub.add_parser("report", help="write a report (统计报表) as xlsx, csv or json")
    p.add_argument("kind", nargs="?", default="summary", choices=KINDS)
    p.add_argument("--from", dest="start", default=None, help="first business day, YYYY-MM-DD (default today)")
    p.add_argument("--to", dest="end", default=None, help="last business day, inclusive")
    p.add_argument("--group", default="day", choices=("day", "week", "month"))
    p.add_argument("--service", default=None)
    p.add_argument("--window", type=int, default=None)
    p.add_argument("--clerk", default=None)
    p.add_argument("--format", default="json", choices=("json", "csv", "xlsx"))
    p.add_argument("--output", type=Path, default=None, help="file to write (default stdout; xlsx needs a file)")
    p.add_argument("--staffing", action="store_true", help="staffing advice (Erlang C) per service and hour")
    p.add_argument("--weekday", type=int, default=None, choices=range(7), metavar="0-6",
                   help="staffing: only these weekdays (0 = Monday)")
    p.add_argument("--config", type=Path, default=None, help="hall YAML (default: $HALLQ_CONFIG or demo)")
    p.add_argument("--database-url", default=None)


def run(args: argparse.Namespace) -> int:
    """``hallq report``: 0 on success, 2 on a refused range or filter (the message on stderr)."""
    from server.app import database_url
    from server.config import load_config
    from server.errors import HallqError
    from server.queue.hours import business_day
    from server.reports.export import to_csv, to_xlsx
    from server.reports.report import Filters, build, build_assessment, parse_range, staffing_report
    from server.settings import Settings
    from server.store.engine import make_engine

    settings = Settings(**{k: v for k, v in (("config", args.config), ("database_url", args.database_url)) if v})
    config = load_config(settings.config)
    engine = make_engine(database_url(settings, config))
    today = business_day(dt.datetime.now(dt.UTC), config.hall.tz, config.hall.rollover)
    try:
        first, last = parse_range(args.start, args.end, today=today)
        filters = Filters(args.service, args.window, args.clerk)
        if args.staffing:
            report = staffing_report(engine, config, first, last, weekday=args.weekday)
        elif args.kind == "assessment":
            report = build_assessment(engine, config, first, last)
        else:
            report = build(engine, config, args.kind, first, last, group=args.group, filters=filters)
    except HallqError as exc:
        print(f"hallq report: {exc.zh} ({exc.en})", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.format == "xlsx":
        if args.output is None:
            print("hallq report: --format xlsx needs --output FILE", file=sys.stderr)
            return 2
        args.output.write_bytes(to_xlsx(report))
    else:
        data = to_csv(report) if args.format == "csv" else json.dumps(report, ensure_ascii=False, indent=1).encode()
        if args.output is None:
            sys.stdout.buffer.write(data)
        else:
            args.output.write_bytes(data)
    return 0
