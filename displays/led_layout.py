"""What LED strips show: pure functions from window state to text fitted to an area.

Width is measured as a 16 px font card renders GB2312: a half-width (ASCII) character
is 8 px, a CJK character 16 px. For each situation there is a list of wordings from
most to least informative; the first one that fits the area is shown static and
centred; when none fits, the first is scrolled (scrolling cards loop it).
"""

from __future__ import annotations

from collections.abc import Sequence

from drivers.contract import LedText

DEFAULT_FONT_PX = 16

# Colours by situation; on single-colour cards the driver drops the codes.
COLORS = {"idle": "green", "calling": "red", "serving": "red", "paused": "yellow", "closed": "red", "hall": "red"}


def text_units(text: str) -> int:
    """Width in half-width character cells (ASCII 1, anything else 2, as GB2312 renders it)."""
    return sum(1 if ord(ch) < 0x80 else 2 for ch in text)


def text_px(text: str, font_px: int = DEFAULT_FONT_PX) -> int:
    """Rendered width in pixels with a ``font_px`` font."""
    return text_units(text) * (font_px // 2)


def fits(text: str, width_px: int, font_px: int = DEFAULT_FONT_PX) -> bool:
    """True when ``text`` fits the area on one line."""
    return text_px(text, font_px) <= width_px


def fit(
    variants: Sequence[str], width_px: int, *, font_px: int = DEFAULT_FONT_PX, color: str = "red", area: int = 0
) -> LedText:
    """The first variant that fits, static and centred; else the first one, scrolling left."""
    if not variants:
        raise ValueError("no text to fit")
    for text in variants:
        if fits(text, width_px, font_px):
            return LedText(text, area=area, color=color, effect="static", align="center")
    return LedText(variants[0], area=area, color=color, effect="scroll_left", align="left")


def idle(window: int, width_px: int, *, font_px: int = DEFAULT_FONT_PX) -> LedText:
    """An open window with nobody called: "3号窗口 欢迎光临"."""
    return fit([f"{window}号窗口 欢迎光临", "欢迎光临", f"{window}号窗口"], width_px, font_px=font_px,
               color=COLORS["idle"])  # fmt: skip


def calling(ticket: str, window: int, width_px: int, *, font_px: int = DEFAULT_FONT_PX) -> LedText:
    """A call: "请A001号到3号窗口" (short form "请A001号" over the window itself)."""
    return fit([f"请{ticket}号到{window}号窗口", f"请{ticket}号", ticket], width_px, font_px=font_px,
               color=COLORS["calling"])  # fmt: skip


def serving(ticket: str, window: int, width_px: int, *, font_px: int = DEFAULT_FONT_PX) -> LedText:
    """Serving a ticket: "A001号 正在办理"."""
    return fit([f"{ticket}号 正在办理", f"{ticket}办理中", ticket], width_px, font_px=font_px,
               color=COLORS["serving"])  # fmt: skip


def paused(window: int, width_px: int, *, reason: str | None = None, font_px: int = DEFAULT_FONT_PX) -> LedText:
    """A paused window: "暂停服务" (with the reason when it fits)."""
    variants = [f"暂停服务 {reason}"] if reason else []
    variants += [f"{window}号窗口 暂停服务", "暂停服务"]
    if reason and not fits(variants[1], width_px, font_px):
        variants = variants[2:] + variants[:1]  # prefer the bare words to a scrolling reason
    return fit(variants, width_px, font_px=font_px, color=COLORS["paused"])


def closed(window: int, width_px: int, *, font_px: int = DEFAULT_FONT_PX) -> LedText:
    """A closed window: "3号窗口 已关闭"."""
    return fit([f"{window}号窗口 已关闭", "窗口已关闭", "已关闭"], width_px, font_px=font_px,
               color=COLORS["closed"])  # fmt: skip


def window_strip(
    state: str,
    window: int,
    width_px: int,
    *,
    ticket: str | None = None,
    reason: str | None = None,
    font_px: int = DEFAULT_FONT_PX,
) -> LedText:
    """The strip text for a window state (``WindowState`` values) and its current ticket."""
    if state == "closed":
        return closed(window, width_px, font_px=font_px)
    if state == "paused":
        return paused(window, width_px, reason=reason, font_px=font_px)
    if ticket and state == "calling":
        return calling(ticket, window, width_px, font_px=font_px)
    if ticket and state == "serving":
        return serving(ticket, window, width_px, font_px=font_px)
    return idle(window, width_px, font_px=font_px)


def hall_strip(
    calls: Sequence[tuple[str, int]],
    width_px: int,
    *,
    limit: int = 3,
    welcome: str = "欢迎光临",
    font_px: int = DEFAULT_FONT_PX,
) -> LedText:
    """The hall strip: the latest calls, newest first ("请A001号到3号窗口  请B002号到5号窗口")."""
    if not calls:
        return fit([welcome], width_px, font_px=font_px, color="green")
    items = [f"请{ticket}号到{window}号窗口" for ticket, window in calls[:limit]]
    # As many of the newest calls as fit statically; when not even the newest fits, scroll them all.
    for n in range(len(items), 0, -1):
        text = "  ".join(items[:n])
        if fits(text, width_px, font_px):
            return LedText(text, color=COLORS["hall"], effect="static", align="center")
    return LedText("  ".join(items), color=COLORS["hall"], effect="scroll_left", align="left")
