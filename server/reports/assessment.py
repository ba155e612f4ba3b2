"""月度考核: a weighted score and ranking of windows or clerks from their KPIs (server/reports/kpi.py).

Each criterion is scored 0–100 relative to the best unit of the same report:
higher-is-better criteria (办件量 ``done``, 满意率 ``satisfaction``) score value ÷ best × 100;
lower-is-better criteria (平均等候 ``wait_mean``, 平均办理时长 ``service_mean``, 差评数 ``bad``)
score best ÷ value × 100 (a value of 0 scores 100). A unit without data for a criterion
(e.g. no finished ticket, so no 满意率) scores 0 on it. The total is Σ weightᵢ·scoreᵢ ÷ Σ weightᵢ,
ranked highest first (ties share a rank). The weights are configurable per request; pause time
(暂停时长) is not scored yet because window pauses are not stored as history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.reports.kpi import Kpis

DEFAULT_WEIGHTS: dict[str, float] = {"done": 30, "wait_mean": 20, "service_mean": 15, "satisfaction": 25, "bad": 10}
HIGHER_BETTER = frozenset({"done", "satisfaction"})
CRITERIA = tuple(DEFAULT_WEIGHTS)
LABELS = {"done": "办件量", "wait_mean": "平均等候", "service_mean": "办理时长", "satisfaction": "满意度",
          "bad": "差评"}


def parse_weights(text: str | None) -> dict[str, float]:
    """``done:30,wait_mean:20,…`` → weights (missing criteria weigh 0); None → the defaults."""
    if not text:
        return dict(DEFAULT_WEIGHTS)
    weights = dict.fromkeys(CRITERIA, 0.0)
    for part in text.split(","):
        name, sep, value = part.partition(":")
        name = name.strip()
        if not sep or name not in weights:
            raise ValueError(f"unknown criterion {name!r}; use {', '.join(CRITERIA)}")
        weight = float(value)
        if not 0 <= weight <= 1000:
            raise ValueError(f"weight of {name} must be 0..1000")
        weights[name] = weight
    if sum(weights.values()) <= 0:
        raise ValueError("at least one weight must be positive")
    return weights


def _score(name: str, value: float | None, best: float | None) -> float:
    if value is None or best is None:
        return 0.0
    if name in HIGHER_BETTER:
        return 100.0 if best == 0 else 100.0 * value / best
    return 100.0 if value == 0 else 100.0 * best / value


def assess(units: Mapping[Any, Kpis], weights: Mapping[str, float]) -> list[dict[str, Any]]:
    """Rows ``{unit, rank, total, <criterion>, score_<criterion>}``, best total first."""
    values = {u: {c: getattr(k, c) for c in CRITERIA} for u, k in units.items()}
    best: dict[str, float | None] = {}
    for c in CRITERIA:
        present = [v[c] for v in values.values() if v[c] is not None]
        best[c] = (max(present) if c in HIGHER_BETTER else min(present)) if present else None
    total_weight = sum(weights.values()) or 1.0
    rows = []
    for unit, v in values.items():
        scores = {c: _score(c, v[c], best[c]) for c in CRITERIA}
        total = sum(weights.get(c, 0) * s for c, s in scores.items()) / total_weight
        rows.append({"unit": unit, **v, **{f"score_{c}": round(s, 2) for c, s in scores.items()},
                     "total": round(total, 2)})
    rows.sort(key=lambda r: (-r["total"], str(r["unit"])))
    rank, previous = 0, None
    for i, row in enumerate(rows, start=1):
        if row["total"] != previous:
            rank, previous = i, row["total"]
        row["rank"] = rank
    return rows
