"""The window screen's star rating: a clerk's recent 满意率 as 0–5 stars in halves.

满意率 is 好评 ÷ 办结量 as in ``server/reports/kpi.py`` (好评: levels 3–5; an unrated finished
ticket counts against it). 办结量 is the larger of the tickets the clerk finished
(transitions by ``clerk:<工号>@…``) and the ratings credited to them (a keypad's 办结 names no
clerk, but its rating does). Fewer than ``stars_min_ratings`` ratings in the period: no stars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, select

from server.store.tables import ratings, transitions

GOOD_LEVELS = (3, 4, 5)


@dataclass(frozen=True)
class Stars:
    """A clerk's stars over the last ``days`` days."""

    stars: float
    satisfaction: float
    rated: int
    done: int
    days: int

    def public(self) -> dict[str, Any]:
        """The JSON the window screen reads."""
        return {"stars": self.stars, "satisfaction": round(self.satisfaction, 4), "rated": self.rated,
                "done": self.done, "days": self.days}


def to_stars(satisfaction: float) -> float:
    """0..1 → 0..5 in half stars (0.93 → 4.5)."""
    return round(max(0.0, min(1.0, satisfaction)) * 10) / 2


def stars_of(conn: Connection, staff_no: str, *, now_ms: int, days: int, min_ratings: int) -> Stars | None:
    """The clerk's stars, or None when fewer than ``min_ratings`` ratings credit them in the period."""
    since = now_ms - days * 86_400_000
    rated, good = conn.execute(
        select(func.count(), func.coalesce(func.sum(case((ratings.c.level.in_(GOOD_LEVELS), 1), else_=0)), 0))
        .where(ratings.c.clerk == staff_no, ratings.c.at >= since)).one()
    rated, good = int(rated or 0), int(good or 0)
    if rated < min_ratings:
        return None
    finished = conn.execute(
        select(func.count(func.distinct(transitions.c.ticket_id)))
        .where(transitions.c.to_state == "done", transitions.c.at >= since,
               transitions.c.actor.like(f"clerk:{_escape(staff_no)}@%", escape="\\"))).scalar()
    done = max(int(finished or 0), rated)
    satisfaction = good / done
    return Stars(to_stars(satisfaction), satisfaction, rated, done, days)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
