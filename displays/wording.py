"""Public sentences generated from the hall's policy, so ticket, screens and voice say the same thing."""

from __future__ import annotations

TRANSFERRED = "已转办，号码不变，请留意叫号"


def no_show_sentence(callback_minutes: int) -> str:
    """The 过号 rule a citizen reads: call-back within the policy's minutes, else a new ticket.

    ``callback_minutes`` is ``policy.callback_minutes``; 0 means a missed ticket cannot be
    called back, so the only honest advice is to take a new one.
    """
    if callback_minutes <= 0:
        return "过号请重新取号"
    return f"过号{callback_minutes}分钟内请向窗口工作人员说明，逾时请重新取号"


def ticket_footer(callback_minutes: int) -> str:
    """The printed ticket's last line: watch for the call, then the 过号 rule."""
    return f"请留意叫号；{no_show_sentence(callback_minutes)}"


def no_show_sentence_en(callback_minutes: int) -> str:
    """The English form of :func:`no_show_sentence` for the English pages."""
    if callback_minutes <= 0:
        return "If you miss your call, please take a new ticket"
    return (f"If you miss your call, tell the window staff within {callback_minutes} minutes; "
            "after that, please take a new ticket")


def priority_label(priority: str | None, channel: str | None) -> str:
    """What a priority ticket says about itself: 老年人优先 for a kiosk's (only the card's age gives one there)."""
    if priority == "green":
        return "绿色通道"
    if priority != "priority":
        return ""
    return "老年人优先" if channel == "kiosk" else "优先办理"


def eta_line(eta_minutes: int | None, eta_range: list[int] | tuple[int, int] | None) -> str | None:
    """The wait on paper: 预计等待 约20–80分钟 when the estimate is uncertain, else 预计等待 25 分钟; None without one.

    The range (server/queue/views.py ``eta_range``) wins: a firm-looking point would promise too much.
    """
    if eta_range is not None and len(eta_range) == 2:
        lo, hi = int(eta_range[0]), int(eta_range[1])
        return f"预计等待 约{lo}–{hi}分钟" if lo != hi else f"预计等待 约{lo}分钟"
    if eta_minutes is not None:
        return f"预计等待 {eta_minutes} 分钟"
    return None
