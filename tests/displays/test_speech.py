"""Announcement sentences."""

from __future__ import annotations

import pytest

from displays import speech


@pytest.mark.parametrize(
    ("n", "zh"),
    [(0, "零"), (3, "三"), (10, "十"), (12, "十二"), (20, "二十"), (101, "一百零一"), (110, "一百一十"),
     (1001, "一千零一"), (2020, "二千零二十")],
)  # fmt: skip
def test_number_zh(n: int, zh: str) -> None:
    assert speech.number_zh(n) == zh


def test_sentence_reads_ticket_by_character_and_window_as_number() -> None:
    assert speech.sentence("A001", 3) == "请A零零一号到三号窗口办理"
    assert speech.sentence("b120", 12) == "请B一二零号到十二号窗口办理"
    assert speech.caption("A001", 12) == "请A001号到12号窗口办理"


def test_templates_and_letters_from_options() -> None:
    voice = speech.voice_from_options(
        {
            "templates": {"recall": "{ticket}号请到{window}号窗口，再次呼叫"},
            "letters": {"a": "诶"},
            "digits": "零幺二三四五六七八九",
        }
    )
    assert speech.sentence("A001", 2, kind="recall", voice=voice) == "诶零零幺号请到二号窗口，再次呼叫"
    assert speech.sentence("A001", 2, voice=voice) == "请诶零零幺号到二号窗口办理"  # default call template kept
