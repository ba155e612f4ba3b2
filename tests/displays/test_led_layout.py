"""LED strip layout: wording per window state, fitted to the area width."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from displays import led_layout as L


def test_widths_follow_gb2312_cells() -> None:
    assert L.text_px("A001") == 32
    assert L.text_px("请A001号到3号窗口") == 136
    assert L.text_px("暂停服务", font_px=32) == 128


def test_calling_long_form_when_it_fits() -> None:
    text = L.calling("A001", 3, 160)
    assert (text.text, text.effect, text.color) == ("请A001号到3号窗口", "static", "red")


def test_calling_short_form_on_narrow_strip() -> None:
    assert L.calling("A001", 3, 64).text == "请A001号"
    assert L.calling("A001", 3, 40).text == "A001"


def test_scrolls_when_nothing_fits() -> None:
    text = L.calling("AB1234", 12, 16)
    assert (text.text, text.effect, text.align) == ("请AB1234号到12号窗口", "scroll_left", "left")


def test_window_states() -> None:
    assert L.window_strip("open", 3, 128).text == "3号窗口 欢迎光临"
    assert L.window_strip("paused", 3, 64).text == "暂停服务"
    assert L.window_strip("paused", 3, 256, reason="午休").text == "暂停服务 午休"
    assert L.window_strip("closed", 3, 128).text == "3号窗口 已关闭"
    assert L.window_strip("serving", 3, 128, ticket="A001").text == "A001号 正在办理"
    assert L.window_strip("calling", 3, 160, ticket="A001").text == "请A001号到3号窗口"
    assert L.window_strip("calling", 3, 160).text == "3号窗口 欢迎光临"  # no ticket: idle


def test_hall_strip_newest_first() -> None:
    calls = [("B002", 5), ("A001", 3)]
    wide = L.hall_strip(calls, 512)
    assert (wide.text, wide.effect) == ("请B002号到5号窗口  请A001号到3号窗口", "static")
    narrow = L.hall_strip(calls, 160)
    assert (narrow.text, narrow.effect) == ("请B002号到5号窗口", "static")
    tiny = L.hall_strip(calls, 64)
    assert tiny.effect == "scroll_left" and tiny.text.startswith("请B002")
    assert L.hall_strip([], 128).text == "欢迎光临"


@given(st.text(alphabet="AB0123456789", min_size=1, max_size=6), st.integers(1, 99), st.integers(8, 512))
def test_static_text_always_fits(ticket: str, window: int, width: int) -> None:
    for text in (L.calling(ticket, window, width), L.idle(window, width), L.paused(window, width)):
        assert text.effect == "scroll_left" or L.text_px(text.text) <= width
        text.text.encode("gb2312")  # every wording is GB2312
