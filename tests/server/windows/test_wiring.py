"""Window devices end to end: the real store and facade, the device manager, simulators on sockets.

The three wirings (``server/windows/``) run as in production: built by ``window_wirings`` over an
``InProcessQueue`` port, fed typed events by the DeviceManager.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drivers.health import DeviceState, Health
from server.config import DeviceConfig, HallConfig
from server.devices.manager import DeviceManager
from server.devices.port import InProcessQueue
from server.hall.hub import Hub, Subscriber
from server.hall.service import HallService
from server.queue.events import Event
from server.queue.views import TicketView
from server.store import QueueStore
from server.windows import KeypadWiring, LedWiring, window_wirings
from server.windows.common import ticket_digits
from tests.support import until

FAST_LED = {"address": 1, "width": 160, "ping_interval": 0.5, "ack_timeout": 0.3, "retries": 1}


def devices(tmp_path: Path) -> list[DeviceConfig]:
    return [
        DeviceConfig(id="led-w3", kind="led_display", driver="onbon_bx", url="sim", window=3, options=FAST_LED),
        DeviceConfig(id="led-w5", kind="led_display", driver="onbon_bx", url="sim", window=5, options=FAST_LED),
        DeviceConfig(id="led-hall", kind="led_display", driver="onbon_bx", url="sim", hall=True,
                     options={**FAST_LED, "width": 512}),
        DeviceConfig(id="keypads-bus1", kind="keypad_bus", driver="ff68", url="sim",
                     options={"callers": {3: 3, 5: 5}, "evaluators": {103: 3, 105: 5}, "dedup_seconds": 0}),
        DeviceConfig(id="announcer-hall", kind="announcer", driver="espeak", url="local", hall=True,
                     options={"cache_dir": str(tmp_path / "announcements"), "repeat": 1}),
    ]  # fmt: skip


@dataclass
class Stack:
    hall: HallService
    manager: DeviceManager
    keypads: KeypadWiring
    hall_topic: Subscriber
    published: list[Event] = field(default_factory=list)

    def announcements(self) -> list[Event]:
        """``announcement.ready`` events seen on topic ``hall`` so far."""
        while not self.hall_topic.queue.empty():
            item = self.hall_topic.queue.get_nowait()
            if isinstance(item, Event):
                self.published.append(item)
        return [e for e in self.published if e.type == "announcement.ready"]

    def sim(self, device_id: str) -> Any:
        return self.manager.simulators[device_id]

    async def press(self, address: int, key: str) -> None:
        result = await self.sim("keypads-bus1").act("press", {"address": address, "key": key})
        assert result["acked"], result

    async def until(self, device_id: str, predicate: Callable[[Any], bool], timeout: float = 5.0) -> None:
        ok = await self.sim(device_id).wait_for(predicate, timeout)
        assert ok, self.sim(device_id).state()


@pytest.fixture
def policy() -> dict[str, Any]:
    """Hall policy overrides (parametrize to change)."""
    return {}


@pytest.fixture
async def stack(tmp_path: Path, demo_config: HallConfig, policy: dict[str, Any]) -> AsyncIterator[Stack]:
    config = demo_config.model_copy(update={"devices": devices(tmp_path),
                                            "policy": demo_config.policy.model_copy(update=policy)})
    store = QueueStore(f"sqlite:///{tmp_path / 'hall.db'}", config)
    store.migrate()
    hub = Hub()
    hall = HallService(store, hub, poll_seconds=0)
    await hall.startup()
    hub.start()
    port = InProcessQueue(hall, hub, store=store)
    wirings = window_wirings(port)
    keypads = next(w for w in wirings if isinstance(w, KeypadWiring))
    s = Stack(hall, DeviceManager(config, port, hub.publish_ephemeral, demo=True), keypads, hub.subscribe(["hall"]))
    for wiring in wirings:
        s.manager.add_wiring(wiring)
    await s.manager.start()
    hub.add_handler(s.manager.on_queue_event)
    for device_id in ("led-w3", "led-w5", "led-hall", "keypads-bus1"):
        assert await s.manager.devices[device_id].wait_ready(5.0), device_id
    try:
        yield s
    finally:
        await hub.stop()
        await s.manager.stop()
        await hall.shutdown()
        store.close()


def test_ticket_digits() -> None:
    assert (ticket_digits("A001"), ticket_digits("AB120"), ticket_digits("A1234"), ticket_digits(None)) == (
        1, 120, 1234, None)  # fmt: skip


async def test_keypad_call_led_announcement_and_rating(stack: Stack) -> None:
    await stack.hall.open_window(3)
    ticket = await stack.hall.issue("general")
    await stack.hall.issue("general")
    await stack.press(3, "call_next")
    await stack.until("led-w3", lambda s: s.areas.get(0) == f"请{ticket['number']}号到3号窗口")
    await stack.until("led-hall", lambda s: s.areas.get(0, "").startswith(f"请{ticket['number']}号到3号窗口"))
    await stack.until("keypads-bus1", lambda s: s.displays.get(3) == "001" and s.waiting.get(3) == "001")
    assert (await stack.hall.window(3))["current"]["id"] == ticket["id"]

    # the next press finishes A001 (a keypad has no finish key) and calls A002; the evaluator starts
    await stack.press(3, "call_next")
    await stack.until("keypads-bus1", lambda s: 103 in s.evaluating and s.displays.get(3) == "002")
    assert (await stack.hall.rating_due(3))["id"] == ticket["id"]  # type: ignore[index]  # stored, not in memory
    await stack.sim("keypads-bus1").act("rate", {"address": 103, "value": 1})  # five_key: 1 = 满意 (4)
    await until(lambda: _rating(stack, ticket["id"]))
    assert (await stack.hall.get_ticket(ticket["id"]))["rating"] == 4
    assert await stack.hall.rating_due(3) is None
    # a second rating is refused with a beep
    await stack.sim("keypads-bus1").act("rate", {"address": 103, "value": 4})
    await stack.until("keypads-bus1", lambda s: s.beeps[103] == 1)
    assert (await stack.hall.get_ticket(ticket["id"]))["rating"] == 4


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is not installed")
async def test_a_call_is_announced_with_its_recording(stack: Stack) -> None:
    await stack.hall.open_window(3)
    ticket = await stack.hall.issue("general")
    await stack.press(3, "call_next")
    await until(stack.announcements)
    [event] = stack.announcements()
    data = event.data
    assert event.topics == ("hall",) and data["text"] == f"请{ticket['number']}号到3号窗口办理"
    key = data["url"].removeprefix("/api/announcements/").removesuffix(".wav")
    assert stack.manager.devices["announcer-hall"].wav_for(key)[:4] == b"RIFF"


async def _rating(stack: Stack, ticket_id: int) -> Any:
    return (await stack.hall.get_ticket(ticket_id))["rating"]


@pytest.mark.parametrize("policy", [{"rating_seconds": 0}])
async def test_rating_after_timeout_is_not_rated(stack: Stack) -> None:
    await stack.hall.open_window(3)
    ticket = await stack.hall.issue("general")
    await stack.press(3, "call_next")
    await stack.until("led-w3", lambda s: "A001" in s.areas.get(0, ""))
    await stack.press(3, "call_next")
    await stack.until("keypads-bus1", lambda s: 103 in s.evaluating)
    await stack.sim("keypads-bus1").act("rate", {"address": 103, "value": 0})
    await stack.until("keypads-bus1", lambda s: s.beeps[103] == 1)
    assert (await stack.hall.get_ticket(ticket["id"]))["rating"] is None


async def test_errors_beep_and_unbound_keypads_are_ignored(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    await stack.press(5, "call_next")  # window 5 is closed
    await stack.until("keypads-bus1", lambda s: s.beeps[5] == 1)
    await stack.hall.open_window(3)
    await stack.press(3, "recall")  # nothing to recall
    await stack.until("keypads-bus1", lambda s: s.beeps[3] == 1)
    with caplog.at_level(logging.WARNING, logger="hallq.devices.window"):
        await stack.press(77, "call_next")
        await until(lambda: "bound to no window" in caplog.text)
    assert "keypad 77" in caplog.text
    assert 77 not in stack.sim("keypads-bus1").state()["beeps"]


async def test_pause_toggle_and_window_states_on_led(stack: Stack) -> None:
    await stack.hall.open_window(3)
    await stack.until("led-w3", lambda s: s.areas.get(0) == "3号窗口 欢迎光临")
    await stack.press(3, "pause")
    await stack.until("led-w3", lambda s: s.areas.get(0) == "3号窗口 暂停服务")
    await stack.press(3, "pause")
    await stack.until("led-w3", lambda s: s.areas.get(0) == "3号窗口 欢迎光临")
    await stack.hall.close_window(3)
    await stack.until("led-w3", lambda s: s.areas.get(0) == "3号窗口 已关闭")


async def test_no_show_suspend_callback_and_transfer(stack: Stack) -> None:
    await stack.hall.open_window(3)
    first = await stack.hall.issue("general")
    second = await stack.hall.issue("general")
    await stack.press(3, "call_next")
    await stack.until("led-w3", lambda s: first["number"] in s.areas.get(0, ""))
    await stack.press(3, "no_show")
    await stack.until("led-w3", lambda s: s.areas.get(0) == "3号窗口 欢迎光临")
    assert (await stack.hall.get_ticket(first["id"]))["state"] == "no_show"
    assert [t["id"] for t in await stack.hall.call_backs(3)] == [first["id"]]  # the stored call-back list
    await stack.press(3, "callback")  # calls back the no-show ticket
    await stack.until("led-w3", lambda s: s.areas.get(0) == f"请{first['number']}号到3号窗口")
    await stack.press(3, "suspend")
    await stack.until("led-w3", lambda s: "欢迎光临" in s.areas.get(0, ""))
    assert (await stack.hall.get_ticket(first["id"]))["state"] == "suspended"
    await stack.press(3, "call_next")
    await stack.until("led-w3", lambda s: second["number"] in s.areas.get(0, ""))
    await stack.press(3, "transfer")  # window 3: general primary, hukou first secondary
    await stack.until("led-w3", lambda s: "欢迎光临" in s.areas.get(0, ""))
    assert (await stack.hall.get_ticket(second["id"]))["state"] == "transferred"
    waiting_hukou = [t for t in await stack.hall.waiting_for_window(11) if t["parent_id"] == second["id"]]
    assert [t["service"] for t in waiting_hukou] == ["hukou"]


async def test_silent_led_does_not_stop_other_outputs(stack: Stack) -> None:
    stack.sim("led-w3").inject("silence")
    await stack.hall.open_window(3)
    ticket = await stack.hall.issue("general")
    await stack.press(3, "call_next")
    await stack.until("led-hall", lambda s: ticket["number"] in s.areas.get(0, ""))
    await stack.until("keypads-bus1", lambda s: s.displays.get(3) == "001")
    await until(lambda: not stack.manager.devices["led-w3"].health.available)
    assert stack.manager.entry("led-w3")["health"]["state"] == "offline"
    # back on line: the strip gets the current text again
    stack.sim("led-w3").inject(None)
    stack.manager.devices["led-w3"].backoff.initial = 0.05
    await stack.until("led-w3", lambda s: s.areas.get(0) == f"请{ticket['number']}号到3号窗口", timeout=10)


async def test_rate_key_before_finish_beeps_and_stores_nothing(stack: Stack) -> None:
    await stack.hall.open_window(5)
    ticket = await stack.hall.issue("social")
    await stack.press(5, "call_next")
    await stack.until("keypads-bus1", lambda s: s.displays.get(5) == "001")
    await stack.press(5, "rate")  # 请评价 while the ticket is still called: rating only after 办结
    await stack.until("keypads-bus1", lambda s: s.beeps.get(5) == 1)
    await stack.hall.start(5)
    await stack.press(5, "rate")  # still not finished while serving
    await stack.until("keypads-bus1", lambda s: s.beeps.get(5) == 2)
    assert 105 not in stack.sim("keypads-bus1").state()["evaluating"]
    assert (await stack.hall.get_ticket(ticket["id"]))["rating"] is None
    assert await stack.hall.run(stack.hall.store.rating_record, ticket["id"]) is None


async def test_rate_key_after_finish_starts_the_evaluator(stack: Stack) -> None:
    await stack.hall.open_window(5)
    ticket = await stack.hall.issue("social")
    await stack.press(5, "call_next")
    await stack.until("keypads-bus1", lambda s: s.displays.get(5) == "001")
    await stack.hall.finish(5)
    await stack.press(5, "rate")  # 请评价 after 办结: rating.requested
    await stack.until("keypads-bus1", lambda s: 105 in s.evaluating)
    await stack.sim("keypads-bus1").act("rate", {"address": 105, "value": 4})  # 非常不满意 (差评)
    await until(lambda: _rating(stack, ticket["id"]))
    assert (await stack.hall.get_ticket(ticket["id"]))["rating"] == 1
    assert stack.sim("keypads-bus1").state()["beeps"] == {}
    record = await stack.hall.run(stack.hall.store.rating_record, ticket["id"])
    assert record["channel"] == "evaluator" and record["window"] == 5 and record["case_id"] is not None


async def test_keypad_waiting_count_follows_new_tickets(stack: Stack) -> None:
    stack.keypads.options.waiting_refresh = 0.05
    await stack.hall.open_window(5)
    for _ in range(3):
        await stack.hall.issue("social")  # window 5's primary service
    await stack.until("keypads-bus1", lambda s: s.waiting.get(5) == "003")


class FakeStrip:
    """An LED display that records what it was told."""

    health = Health(DeviceState.READY)

    def __init__(self, width: int) -> None:
        from drivers.led.driver import BxOptions

        self.options = BxOptions(width=width)
        self.texts: list[str] = []

    async def show(self, text: Any) -> None:
        self.texts.append(text.text)


class RecentCalls:
    """Just the hall snapshot's recent calls of a QueuePort, as the store orders them (by first call)."""

    def __init__(self) -> None:
        self.calls: list[TicketView] = []

    async def snapshot(self) -> Any:
        return type("Snapshot", (), {"recent_calls": list(reversed(self.calls))})()

    def follow(self, event: Event) -> Event:
        if event.type == "ticket.called" and event.ticket is not None:
            self.calls.append(event.ticket)
        return event


class FakeManager:
    """Just enough of DeviceManager for the wiring: devices by kind, no queue."""

    def __init__(self, entries: list[tuple[DeviceConfig, Any]]) -> None:
        self.entries = entries
        self.queue = None
        self.publish = None
        self.config = None

    def devices_of_kind(self, kind: str) -> list[tuple[DeviceConfig, Any]]:
        return [(cfg, dev) for cfg, dev in self.entries if cfg.kind == kind]


def called(number: str, window: int, recalled: bool = False) -> Event:
    ticket = {"id": int(number[1:]), "number": number, "window": window, "state": "called"}
    return Event.of("ticket.recalled" if recalled else "ticket.called", ("hall",),
                    {"ticket": ticket, "window": {"number": window, "state": "calling", "current": ticket}})


async def test_zone_strip_filters_windows_and_recall_moves_call_to_front() -> None:
    hall, zone = FakeStrip(1024), FakeStrip(1024)
    entries = [
        (DeviceConfig(id="led-hall", kind="led_display", driver="onbon_bx", url="sim", hall=True), hall),
        (DeviceConfig(id="led-zone", kind="led_display", driver="onbon_bx", url="sim", windows=[5, 6]), zone),
    ]
    store = RecentCalls()
    wiring = LedWiring(store)  # type: ignore[arg-type]
    await wiring.start(FakeManager(entries))
    await wiring.on_event(store.follow(called("A001", 3)))
    await wiring.on_event(store.follow(called("B001", 5)))
    await wiring.on_event(store.follow(called("A001", 3, recalled=True)))
    await wiring.on_event(Event.of("device.health", ("devices",), {"device": {"id": "x"}}))  # not a queue event
    assert hall.texts[-1] == "请A001号到3号窗口  请B001号到5号窗口"
    assert zone.texts[-1] == "请B001号到5号窗口"
    await wiring.stop()


async def test_typed_number_calls_that_ticket_or_beeps(stack: Stack) -> None:
    from drivers.contract import KeypadEvent

    await stack.hall.open_window(3)
    await stack.hall.issue("general")
    second = await stack.hall.issue("general")
    bus = stack.manager.devices["keypads-bus1"]
    await stack.keypads.on_keypad(bus, KeypadEvent(address=3, kind="caller", key="call_number", value=2))
    assert (await stack.hall.window(3))["current"]["id"] == second["id"]  # out of order, as typed
    await stack.until("led-w3", lambda s: s.areas.get(0) == f"请{second['number']}号到3号窗口")
    await stack.hall.finish(3)
    await stack.keypads.on_keypad(bus, KeypadEvent(address=3, kind="caller", key="call_number", value=99))
    await stack.until("keypads-bus1", lambda s: s.beeps[3] == 1)
