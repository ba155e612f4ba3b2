"""Reasons (评价内容) for a 差评 and the free text that goes with a rating.

Default reasons: the 线下评价 second-level indicators (二级指标) of 整体满意度 — 服务效率,
服务水平, 服务态度 — as a published local 好差评 implementation lists them (the national
评价内容 table, "原则上应全国标准统一"), plus 其他. This is NOT the text of the GB/T 39734-2020
appendix, which could not be sourced here: it is a short, clearly-labelled default; halls set
their province's list in ``ratings.reasons`` of the hall config.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.config import HallConfig, RatingReason
from server.errors import HallqError

BAD_LEVELS = (1, 2)  # 不满意, 非常不满意 — 差评
DEFAULT_REASONS: tuple[RatingReason, ...] = (
    RatingReason(code="efficiency", name="服务效率"),
    RatingReason(code="competence", name="服务水平"),
    RatingReason(code="attitude", name="服务态度"),
    RatingReason(code="other", name="其他"),
)
DEFAULT_SOURCE = "hallq default: 线下评价 二级指标 of a local 好差评 implementation, not the GB/T 39734 appendix"


class InvalidRating(HallqError):
    """A rating whose reasons or free text break the hall's rules (422)."""

    status = 422


def reasons_of(config: HallConfig) -> tuple[RatingReason, ...]:
    """The hall's reason list (its config, else the defaults)."""
    return tuple(config.ratings.reasons) if config.ratings.reasons else DEFAULT_REASONS


# Channels with no way to pick a reason: the FF 68 evaluators' key maps (drivers/keypad/codec.py) give
# levels only, so ``require_reasons`` cannot apply to them — their 差评 is stored (and opens its
# case) without reasons rather than being lost to a beep.
NO_REASON_CHANNELS = frozenset({"evaluator", "keypad"})


def check(config: HallConfig, level: int, reasons: Sequence[str], text: str | None,
          *, source: str | None = None) -> tuple[list[str], str | None]:
    """Validated (reason codes, stripped text); raises InvalidRating (422) with a code."""
    known = {r.code for r in reasons_of(config)}
    codes = list(dict.fromkeys(reasons))  # keep order, drop repeats
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise InvalidRating(f"评价原因不在列表中：{', '.join(unknown)}", f"Unknown rating reasons: {unknown}",
                            code="unknown_reason", reasons=unknown)
    if codes and level not in BAD_LEVELS:
        raise InvalidRating("只有不满意或非常不满意时才选择原因", "Reasons are for bad ratings (levels 1 and 2) only",
                            code="reasons_not_allowed", level=level)
    if level in BAD_LEVELS and config.ratings.require_reasons and not codes and source not in NO_REASON_CHANNELS:
        raise InvalidRating("请选择不满意的原因", "A bad rating (level 1 or 2) must name at least one reason",
                            code="reasons_required")
    body = (text or "").strip() or None
    limit = config.ratings.text_max
    if body is not None and len(body) > limit:
        raise InvalidRating(f"评价内容不能超过{limit}字", f"Rating text longer than {limit} characters",
                            code="rating_text_too_long", limit=limit)
    return codes, body

