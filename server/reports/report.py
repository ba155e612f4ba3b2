"""Report building: a range and filters → JSON-ready breakdowns (the one code behind API, CLI and exports)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from server.config import HallConfig
from server.errors import HallqError, NotFound, unknown_service, unknown_window
from server.reports.assessment import DEFAULT_WEIGHTS, assess
from server.reports.kpi import GROUPS, Key, Visit, breakdown, kpis, utilisation, wait_histogram, window_times
from server.reports.query import day_bounds, read_visits, read_window_changes
from server.reports.staffing import windows_needed
from server.store.engine import READ

KINDS = ("summary", "services", "windows", "staff", "hourly", "tickets")
BREAKDOWN_OF = {"services": "service", "windows": "window", "staff": "clerk", "hourly": "hour"}
PERIODS: dict[str, Key] = {
    "day": lambda v: v.facts.business_day,
    "week": lambda v: "{}-W{:02d}".format(*dt.date.fromisoformat(v.facts.business_day).isocalendar()[:2]),
    "month": lambda v: v.facts.business_day[:7],
}
MAX_DAYS = 366


class InvalidRange(HallqError):
    """A malformed, reversed or too long report range, or a bad grouping (422, names the field)."""

    status = 422
    default_code = "invalid_range"


def range_error(field: str, zh: str, en: str) -> InvalidRange:
    """A bad report parameter ``field``."""
    return InvalidRange(zh, en, code="invalid_range", field=field)


def parse_range(start: str | None, end: str | None, *, today: dt.date, max_days: int = MAX_DAYS
                ) -> tuple[dt.date, dt.date]:
    """``from``/``to`` ISO dates (inclusive; default today) checked: not malformed, reversed or too long."""
    dates: list[dt.date] = []
    for field, raw in (("from", start), ("to", end)):
        if raw is None or raw == "":
            dates.append(today)
            continue
        try:
            dates.append(dt.date.fromisoformat(raw))
        except ValueError:
            raise range_error(field, f"日期格式错误：{raw[:20]}", f"Malformed date: {raw[:20]!r}") from None
    first, last = dates
    if last < first:
        raise range_error("to", "结束日期早于开始日期", "'to' is before 'from'")
    if (last - first).days + 1 > max_days:
        raise range_error("to", f"统计区间不能超过{max_days}天", f"The range exceeds {max_days} days")
    return first, last


@dataclass(frozen=True)
class Filters:
    """Optional filters of a report."""

    service: str | None = None
    window: int | None = None
    clerk: str | None = None


def _known_clerk(engine: Engine, clerk: str, visits: list[Visit]) -> bool:
    if any(v.clerk == clerk for v in visits):
        return True
    from server.auth.tables import accounts  # the accounts live in the same database

    with engine.connect().execution_options(**{READ: True}) as conn, conn.begin():
        return conn.execute(select(accounts.c.id).where(accounts.c.username == clerk,
                                                        accounts.c.role == "clerk")).first() is not None


def clerk_names(engine: Engine) -> dict[str, str]:
    """工号 → 姓名 of every account (the staff directory, server/staff/, keeps them in ``accounts``)."""
    from server.auth.tables import accounts

    with engine.connect().execution_options(**{READ: True}) as conn, conn.begin():
        return {r.username: r.name for r in conn.execute(select(accounts.c.username, accounts.c.name))}


def _with_clerk_names(engine: Engine, rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    names = clerk_names(engine) if rows else {}
    for row in rows:
        row["clerk_name"] = names.get(row[key], "") if row[key] is not None else "未分配"
    return rows


def visits_for(engine: Engine, config: HallConfig, start: dt.date, end: dt.date, f: Filters) -> list[Visit]:
    """The filtered visits of a range; an unknown service, window or clerk → 404."""
    if f.service is not None and f.service not in {s.code for s in config.services}:
        raise unknown_service(f.service)
    if f.window is not None and f.window not in {w.number for w in config.windows}:
        raise unknown_window(f.window)
    visits = read_visits(engine, config, start, end, f.service)
    if f.clerk is not None:
        if not _known_clerk(engine, f.clerk, visits):
            raise NotFound(f"没有此工作人员：{f.clerk}", f"Unknown clerk: {f.clerk}", code="unknown_clerk",
                           clerk=f.clerk)
        visits = [v for v in visits if v.clerk == f.clerk]
    if f.window is not None:
        visits = [v for v in visits if v.window == f.window]
    return visits


def _rows(visits: list[Visit], key: Key, name: str) -> list[dict[str, Any]]:
    return [{name: g, **k.to_dict()} for g, k in breakdown(visits, key).items()]


def _named(config: HallConfig, rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Add ``service_name`` / ``window_name`` (the config's 中文 names) to rows keyed by service or window."""
    names: dict[Any, str] = ({s.code: s.name for s in config.services} if key == "service"
                             else {w.number: w.label for w in config.windows})
    for row in rows:
        row[f"{key}_name"] = names.get(row[key], "未分配" if row[key] is None else str(row[key]))
    return rows


def window_rows(engine: Engine, config: HallConfig, start: dt.date, end: dt.date,
                visits: list[Visit]) -> list[dict[str, Any]]:
    """The per-window KPIs plus staffed and paused seconds, pauses by reason and 窗口利用率."""
    lo, hi = day_bounds(config, start, end)
    times = window_times(read_window_changes(engine, config, start, end), lo, hi)
    rows = _rows(visits, GROUPS["window"], "window")
    at: dict[int | None, list[Visit]] = {}
    for v in visits:
        at.setdefault(v.window, []).append(v)
    for row in rows:
        t = times.get(row["window"]) if row["window"] is not None else None
        mine = at.get(row["window"], [])
        row["staffed_s"] = None if t is None else round(t.staffed_ms / 1000)
        row["paused_s"] = None if t is None else round(t.paused_ms / 1000)
        row["pauses"] = {} if t is None else {k: round(ms / 1000) for k, ms in t.pauses.items()}
        row["utilisation"] = utilisation(mine, t)
    return _named(config, rows, "window")


def ticket_rows(visits: list[Visit], config: HallConfig) -> list[dict[str, Any]]:
    """One row per ticket: number, service, times (local), wait and service seconds, window, clerk, rating."""
    tz = config.hall.tz

    def local(ms: int | None) -> str | None:
        return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:%M:%S")

    rows = []
    for v in visits:
        t = v.facts
        call = next((s.at for s in sorted(t.steps, key=lambda s: s.at) if s.action == "call"), None)
        rows.append({"id": t.id, "day": t.business_day, "number": t.number, "service": t.service,
                     "state": t.state, "priority": t.priority, "channel": t.channel, "issued": local(t.issued_at),
                     "called": local(call), "wait": None if v.wait_ms is None else round(v.wait_ms / 1000, 1),
                     "service_time": None if v.service_ms is None else round(v.service_ms / 1000, 1),
                     "window": v.window, "clerk": v.clerk, "rating": t.rating, "parent": t.parent_id})
    return rows


def build(engine: Engine, config: HallConfig, kind: str, start: dt.date, end: dt.date, *,
          group: str = "day", filters: Filters = Filters()) -> dict[str, Any]:
    """The report ``kind`` of a range: ``{kind, from, to, group, rows, totals}`` (+ every breakdown for summary)."""
    if kind not in KINDS:
        raise NotFound(f"没有此报表：{kind}", f"Unknown report: {kind}", code="unknown_report", report=kind)
    if group not in PERIODS:
        raise range_error("group", "分组应为 day、week 或 month", "group must be day, week or month")
    visits = visits_for(engine, config, start, end, filters)
    out: dict[str, Any] = {"kind": kind, "from": start.isoformat(), "to": end.isoformat(), "group": group,
                           "filters": {k: v for k, v in vars(filters).items() if v is not None},
                           "totals": kpis(visits).to_dict(),
                           "targets": {s.code: s.sla_minutes for s in config.services}}  # wait targets, minutes
    if kind == "tickets":
        out["rows"] = ticket_rows(visits, config)
    elif kind == "summary":
        out["rows"] = _rows(visits, PERIODS[group], "period")
        out["breakdowns"] = {k: window_rows(engine, config, start, end, visits) if k == "windows"
                             else _named(config, _rows(visits, GROUPS[g], g), g) if g == "service"
                             else _with_clerk_names(engine, _rows(visits, GROUPS[g], g), g) if g == "clerk"
                             else _rows(visits, GROUPS[g], g) for k, g in BREAKDOWN_OF.items()}
        out["wait_histogram"] = wait_histogram(visits)  # the page's wait-against-target chart
    elif kind == "windows":
        out["rows"] = window_rows(engine, config, start, end, visits)
    else:
        name = BREAKDOWN_OF[kind]
        out["rows"] = _rows(visits, GROUPS[name], name)
        if name == "service":
            _named(config, out["rows"], name)
        elif name == "clerk":
            _with_clerk_names(engine, out["rows"], name)
    return out


def build_assessment(engine: Engine, config: HallConfig, start: dt.date, end: dt.date, *,
                     weights: dict[str, float] | None = None) -> dict[str, Any]:
    """月度考核 of a range: windows and clerks scored and ranked (``server/reports/assessment.py``)."""
    visits = visits_for(engine, config, start, end, Filters())
    w = weights or dict(DEFAULT_WEIGHTS)
    windows = {g: k for g, k in breakdown(visits, GROUPS["window"]).items() if g is not None}
    clerks = {g: k for g, k in breakdown(visits, GROUPS["clerk"]).items() if g is not None}
    labels = {w.number: w.label for w in config.windows}
    ranked = assess(windows, w)
    for row in ranked:
        row["unit_name"] = labels.get(row["unit"], str(row["unit"]))
    return {"kind": "assessment", "from": start.isoformat(), "to": end.isoformat(), "weights": w,
            "rows": ranked,
            "breakdowns": {"assessment_staff": _with_clerk_names(engine, assess(clerks, w), "unit")},
            "totals": kpis(visits).to_dict()}


def staffing_report(engine: Engine, config: HallConfig, start: dt.date, end: dt.date, *,
                    weekday: int | None = None, share: float = 0.8) -> dict[str, Any]:
    """Windows needed per service and hour of day (Erlang C) from the arrivals and service times of a range.

    Arrivals per hour = tickets issued in that hour ÷ business days of the range that had tickets
    (only days of ``weekday``, 0 = Monday, when given); service time = the service's mean 办理时长
    in the range (its configured ``expected_minutes`` when none finished); target = ``sla_minutes``.
    """
    visits = [v for v in visits_for(engine, config, start, end, Filters())
              if weekday is None or dt.date.fromisoformat(v.facts.business_day).weekday() == weekday]
    days = len({v.facts.business_day for v in visits}) or 1
    rows = []
    for svc in config.services:
        mine = [v for v in visits if v.facts.service == svc.code]
        served = [v.service_ms for v in mine if v.service_ms]
        service_s = sum(served) / len(served) / 1000 if served else svc.expected_minutes * 60
        target_s = (svc.sla_minutes or 30) * 60
        per_hour: dict[int, int] = {}
        for v in mine:
            if v.facts.counted:
                per_hour[v.hour] = per_hour.get(v.hour, 0) + 1
        for hour in sorted(per_hour):
            a = windows_needed(per_hour[hour] / days, service_s, target_s=target_s, share=share)
            rows.append({"service": svc.code, "service_name": svc.name, "hour": hour,
                         "arrivals_per_hour": round(a.arrivals_per_hour, 2),
                         "service_s": round(service_s, 1), "load": round(a.load, 3), "windows": a.windows,
                         "p_wait": round(a.p_wait, 5), "mean_wait_s": round(a.mean_wait_s, 1),
                         "within_target": round(a.within_target, 5), "target_s": target_s})
    return {"kind": "staffing", "from": start.isoformat(), "to": end.isoformat(), "days": days,
            "weekday": weekday, "share": share, "rows": rows, "totals": {}}
