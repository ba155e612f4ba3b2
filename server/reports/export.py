"""Report exports: CSV (UTF-8 with BOM, opens in Excel) and XLSX (openpyxl): Chinese headers, number
formats, a totals row (合计, the KPIs over all tickets of the range, not a sum of rates), a frozen
header, one sheet per breakdown."""

from __future__ import annotations

import csv
import io
from typing import Any

INT, SEC, PCT, TEXT = "0", "0.0", "0.0%", "@"

# (key, 中文表头, number format) of every KPI column (server/reports/kpi.py)
KPI_COLUMNS: list[tuple[str, str, str]] = [
    ("issued", "取号量", INT), ("called", "叫号量", INT), ("done", "办结量", INT),
    ("no_show", "过号/弃号", INT), ("cancelled", "取消", INT), ("transferred", "转办", INT),
    ("expired", "过期", INT), ("recalls", "重呼次数", INT),
    ("wait_mean", "平均等候(秒)", SEC), ("wait_p90", "P90等候(秒)", SEC), ("wait_max", "最长等候(秒)", SEC),
    ("service_mean", "平均办理时长(秒)", SEC), ("service_p90", "P90办理时长(秒)", SEC),
    ("overdue", "超时等候数", INT), ("overdue_rate", "超时等候率", PCT),
    ("rated", "评价数", INT), ("good", "好评数", INT), ("bad", "差评数", INT),
    ("rated_rate", "评价率", PCT), ("unrated_rate", "未评价率", PCT), ("good_rate", "好评率", PCT),
    ("bad_rate", "差评率", PCT), ("satisfaction", "满意率", PCT),
]
WINDOW_COLUMNS: list[tuple[str, str, str]] = [
    ("staffed_s", "在岗时长(秒)", INT), ("paused_s", "暂停时长(秒)", INT), ("utilisation", "窗口利用率", PCT),
]
KEY_HEADERS = {"period": "日期", "service": "业务", "window": "窗口", "clerk": "工作人员", "hour": "时段(时)"}
SHEET_NAMES = {"summary": "汇总", "services": "按业务", "windows": "按窗口", "staff": "按人员", "hourly": "按时段",
               "tickets": "号票明细"}
TICKET_COLUMNS: list[tuple[str, str, str]] = [
    ("id", "编号", INT), ("day", "业务日", TEXT), ("number", "号码", TEXT), ("service", "业务", TEXT),
    ("state", "状态", TEXT), ("priority", "优先级", TEXT), ("channel", "渠道", TEXT),
    ("issued", "取号时间", TEXT), ("called", "首次叫号时间", TEXT), ("wait", "等候(秒)", SEC),
    ("service_time", "办理时长(秒)", SEC), ("window", "窗口", INT), ("clerk", "工作人员", TEXT),
    ("rating", "评价", INT), ("parent", "转办自", INT),
]
ASSESSMENT_COLUMNS: list[tuple[str, str, str]] = [
    ("rank", "排名", INT), ("unit", "考核对象", TEXT), ("total", "综合得分", "0.00"),
    ("done", "办件量", INT), ("wait_mean", "平均等候(秒)", SEC), ("service_mean", "平均办理时长(秒)", SEC),
    ("satisfaction", "满意率", PCT), ("bad", "差评数", INT),
    ("score_done", "办件量得分", "0.00"), ("score_wait_mean", "等候得分", "0.00"),
    ("score_service_mean", "办理时长得分", "0.00"), ("score_satisfaction", "满意度得分", "0.00"),
    ("score_bad", "差评得分", "0.00"),
]
STAFFING_COLUMNS: list[tuple[str, str, str]] = [
    ("service", "业务", TEXT), ("service_name", "业务名称", TEXT), ("hour", "时段(时)", INT),
    ("arrivals_per_hour", "每小时到达", "0.00"),
    ("service_s", "平均办理时长(秒)", SEC), ("load", "话务量(Erlang)", "0.000"), ("windows", "建议窗口数", INT),
    ("p_wait", "需等候概率", PCT), ("mean_wait_s", "平均等候(秒)", SEC), ("within_target", "目标内服务比例", PCT),
    ("target_s", "等候目标(秒)", INT),
]
TOTAL = "合计"
TABLE_KEYS = {"summary": "period", "services": "service", "windows": "window", "staff": "clerk", "hourly": "hour"}


NAME_HEADERS = {"service": "业务名称", "window": "窗口名称", "clerk": "姓名"}
FILTER_HEADERS = {"service": "业务", "window": "窗口", "clerk": "工作人员"}
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
Sheet = tuple[str, list[tuple[str, str, str]], list[dict[str, Any]], dict[str, Any] | None]


def per_hour(rows: list[dict[str, Any]]) -> Sheet:
    """Staffing advice pivoted: one row per hour, the windows each service needs and their sum (合计)."""
    services = list(dict.fromkeys(r["service"] for r in rows))
    names = {r["service"]: r.get("service_name") or r["service"] for r in rows}
    table: dict[int, dict[str, Any]] = {}
    for r in rows:
        row = table.setdefault(r["hour"], {"hour": f"{r['hour']:02d}:00–{r['hour'] + 1:02d}:00", "total": 0})
        row[r["service"]] = r["windows"]
        row["total"] += r["windows"]
    columns = [("hour", "时段", TEXT), *[(c, names[c], INT) for c in services], ("total", "合计窗口数", INT)]
    return ("每时段窗口数", columns, [table[h] for h in sorted(table)], None)


def sheets(report: dict[str, Any]) -> list[Sheet]:
    """(sheet name, columns, rows, totals row) of every table of a report, in order."""
    kind = report["kind"]
    if kind == "assessment":
        window_columns = [*ASSESSMENT_COLUMNS[:2], ("unit_name", "窗口名称", TEXT), *ASSESSMENT_COLUMNS[2:]]
        staff_columns = [*ASSESSMENT_COLUMNS[:2], ("clerk_name", "姓名", TEXT), *ASSESSMENT_COLUMNS[2:]]
        return [("窗口考核", window_columns, report["rows"], None),
                ("人员考核", staff_columns, report["breakdowns"]["assessment_staff"], None)]
    if kind == "staffing":
        return [("人员配置建议", STAFFING_COLUMNS, report["rows"], None), per_hour(report["rows"])]
    if kind == "tickets":
        return [(SHEET_NAMES[kind], TICKET_COLUMNS, report["rows"], None)]
    out: list[Sheet] = []
    tables = [(kind, report["rows"]), *list(report.get("breakdowns", {}).items())]
    for name, rows in tables:
        key = TABLE_KEYS[name]
        columns = [(key, KEY_HEADERS[key], TEXT if key in ("period", "service", "clerk") else INT), *KPI_COLUMNS]
        if key in NAME_HEADERS:  # the 中文 name beside the code / number / 工号
            columns.insert(1, (f"{key}_name", NAME_HEADERS[key], TEXT))
        if name == "windows":
            columns += WINDOW_COLUMNS
        out.append((SHEET_NAMES[name], columns, rows, {key: TOTAL, **report["totals"]}))
    return out


def to_csv(report: dict[str, Any]) -> bytes:
    """The report's first table (with its totals row) as UTF-8 CSV with BOM."""
    _name, columns, rows, totals = sheets(report)[0]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([h for _, h, _ in columns])
    for row in rows + ([totals] if totals else []):
        writer.writerow(["" if row.get(k) is None else row.get(k) for k, _, _ in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _window_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    if report["kind"] == "windows":
        return list(report["rows"])
    rows: list[dict[str, Any]] = report.get("breakdowns", {}).get("windows", []) if report["kind"] == "summary" else []
    return rows


def to_xlsx(report: dict[str, Any]) -> bytes:
    """The report as a workbook: one sheet per table, bold frozen header, formats, a bold totals row."""
    from openpyxl import Workbook  # loads Pillow: only when a spreadsheet is asked for
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for name, columns, rows, totals in sheets(report):
        ws = wb.create_sheet(name)
        ws.append([h for _, h, _ in columns])
        for cell in ws[1]:
            cell.font = bold
        for row in rows + ([totals] if totals else []):
            ws.append([row.get(k) for k, _, _ in columns])
            for cell, (_, _, fmt) in zip(ws[ws.max_row], columns, strict=True):
                cell.number_format = fmt
        if totals:
            for cell in ws[ws.max_row]:
                cell.font = bold
        ws.freeze_panes = "B2"
        for i, (_, header, _) in enumerate(columns, start=1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, len(header) * 2 + 2)
    pauses = [(row["window"], reason or "未注明", seconds) for row in _window_rows(report)
              for reason, seconds in sorted(row.get("pauses", {}).items())]
    if pauses:
        ws = wb.create_sheet("暂停原因")
        ws.append(["窗口", "暂停原因", "暂停时长(秒)"])
        for cell in ws[1]:
            cell.font = bold
        for entry in pauses:
            ws.append(list(entry))
        ws.freeze_panes = "A2"
    info = wb.create_sheet("说明")
    info.append(["统计区间", report["from"], report["to"]])
    for key, value in (report.get("filters") or {}).items():
        info.append(["筛选：" + FILTER_HEADERS.get(key, key), value])
    if report.get("weekday") is not None:
        info.append(["只计星期", WEEKDAYS[report["weekday"]]])
    if report["kind"] == "staffing":
        info.append(["目标内服务比例", report.get("share")])
    info.append(["合计行", "区间内全部号票的指标（不是各行比率之和）"])
    info.append(["指标定义", "见 server/reports/kpi.py"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
