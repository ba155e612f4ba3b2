"""The words of a voice announcement: pure functions, templates per hall.

A ticket number is read character by character ("A001" → "A零零一": digits as
零一二…, letters as spoken letters), a window number as a number ("12" → "十二").
Templates come from the announcer's device options (``options.templates``), so each
hall can word its calls; placeholders: ``{ticket}``, ``{window}``, ``{window_name}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

DIGITS = "零一二三四五六七八九"

DEFAULT_TEMPLATES: dict[str, str] = {
    "call": "请{ticket}号到{window}号窗口办理",
    "recall": "请{ticket}号到{window}号窗口办理",
}


def number_zh(n: int) -> str:
    """A non-negative integer below 10 000 read as a Chinese number: 12 → 十二, 101 → 一百零一."""
    if not 0 <= n < 10000:
        raise ValueError(f"{n} out of range")
    if n == 0:
        return DIGITS[0]
    units = ["", "十", "百", "千"]
    out = ""
    zero = False
    for power in range(3, -1, -1):
        d = n // 10**power % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += DIGITS[0]
            zero = False
        out += DIGITS[d] + units[power]
    # 10..19 are read 十, 十一 … not 一十, 一十一
    return out[1:] if 10 <= n < 20 else out


@dataclass(frozen=True)
class Voice:
    """How characters are read; ``letters`` overrides a letter's spoken form (e.g. {"A": "诶"})."""

    templates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    letters: Mapping[str, str] = field(default_factory=dict)
    digits: str = DIGITS


def voice_from_options(options: Mapping[str, object] | None) -> Voice:
    """A Voice from announcer options {templates: {...}, letters: {...}, digits: "零幺二…"}."""
    voice = Voice()
    if not options:
        return voice
    templates = options.get("templates")
    letters = options.get("letters")
    digits = options.get("digits")
    if isinstance(templates, Mapping):
        voice = replace(voice, templates={**DEFAULT_TEMPLATES, **{str(k): str(v) for k, v in templates.items()}})
    if isinstance(letters, Mapping):
        voice = replace(voice, letters={str(k).upper(): str(v) for k, v in letters.items()})
    if isinstance(digits, str) and len(digits) == 10:
        voice = replace(voice, digits=digits)
    return voice


def spell(ticket: str, voice: Voice | None = None) -> str:
    """A ticket number read one character at a time: "A001" → "A零零一"."""
    voice = voice or Voice()
    out = []
    for ch in ticket:
        if ch.isdigit() and ch.isascii():
            out.append(voice.digits[int(ch)])
        elif ch.isascii() and ch.isalpha():
            out.append(voice.letters.get(ch.upper(), ch.upper()))
        else:
            out.append(ch)
    return "".join(out)


def sentence(
    ticket: str,
    window: int,
    *,
    kind: str = "call",
    window_name: str | None = None,
    voice: Voice | None = None,
) -> str:
    """The spoken sentence: "请A零零一号到十二号窗口办理"."""
    voice = voice or Voice()
    template = voice.templates.get(kind) or DEFAULT_TEMPLATES.get(kind) or DEFAULT_TEMPLATES["call"]
    return template.format(ticket=spell(ticket, voice), window=number_zh(window), window_name=window_name or "")


def caption(ticket: str, window: int, *, kind: str = "call", window_name: str | None = None,
            voice: Voice | None = None) -> str:  # fmt: skip
    """The same sentence as written on screens: "请A001号到12号窗口办理"."""
    voice = voice or Voice()
    template = voice.templates.get(kind) or DEFAULT_TEMPLATES.get(kind) or DEFAULT_TEMPLATES["call"]
    return template.format(ticket=ticket, window=window, window_name=window_name or "")
