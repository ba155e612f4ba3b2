"""LED strips wired to the queue: window strips (条屏) and hall/zone strips.

Devices: every ``led_display``. One bound to ``window: N`` (and not ``hall: true``) is that
window's strip; the others are hall strips, filtered to ``windows: [...]`` when given.

Events → strips: every event carrying a window view (``ticket.called``, ``window.changed`` …)
sets that window's strips to calling/serving/idle/paused/closed; a call or recall
refreshes the hall strips with the last calls, read from the store's hall snapshot (a recall
moves its call to the front). A strip that is down is skipped at once and gets its current
text again when it comes back.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Protocol

from displays import led_layout
from drivers.contract import LedDisplay, LedText
from server.devices.port import QueuePort
from server.queue.events import Event
from server.queue.views import TicketView, WindowView
from server.windows.common import CALL_EVENTS, DeviceSource, Tasks, available, bounded, on_recovery, port_of, run_all

log = logging.getLogger("hallq.devices.window")

Call = tuple[str, int]  # (ticket number, window)


class StripGeometry(Protocol):
    """The options of an LED driver that size its text."""

    width: int  # pixels
    font: int  # font height in pixels


class Strip(LedDisplay, Protocol):
    """An LED display with its geometry (``drivers.led.driver.BxOptions``)."""

    @property
    def options(self) -> StripGeometry: ...


@dataclass
class _Bound:
    """One strip and what it should show now."""

    device_id: str
    device: Strip
    windows: set[int] | None  # hall strips: the windows shown (None = all)
    desired: LedText | None = None


def window_text(window: WindowView, device: Strip) -> LedText:
    """What a window strip shows for the window's state."""
    current = window.current.number if window.current is not None else None
    opts = device.options
    return led_layout.window_strip(window.state, window.number, opts.width, ticket=current,
                                   reason=window.pause_reason, font_px=opts.font)


def latest_calls(recent: list[TicketView], called: TicketView | None, window: int | None) -> list[Call]:
    """The hall's last calls, newest first, with a just (re)called ticket at the front."""
    calls = [(t.number, t.window) for t in recent if t.window is not None]
    if called is not None and window is not None:
        calls = [(called.number, window)] + [c for c in calls if c != (called.number, window)]
    return calls


class LedWiring:
    """Window and hall strips follow the queue."""

    def __init__(self, queue: QueuePort | None = None, *, hall_calls: int = 3) -> None:
        self.queue = queue
        self.hall_calls = hall_calls  # calls shown on a hall strip
        self.window_strips: dict[int, list[_Bound]] = {}
        self.hall_strips: list[_Bound] = []
        self.tasks = Tasks()

    async def start(self, manager: DeviceSource) -> None:
        """Find the strips and show the current state on them."""
        self.queue = port_of(self.queue, manager)
        for cfg, device in manager.devices_of_kind("led_display"):
            if cfg.window is not None and not cfg.hall:
                bound = _Bound(cfg.id, device, None)
                self.window_strips.setdefault(cfg.window, []).append(bound)
            else:
                bound = _Bound(cfg.id, device, set(cfg.windows) if cfg.windows else None)
                self.hall_strips.append(bound)
            on_recovery(device, functools.partial(self._reshow, bound))
        self.tasks.spawn(self._initial())

    async def stop(self) -> None:
        """Stop background work."""
        await self.tasks.stop()

    async def on_event(self, event: Event) -> None:
        """Act on one committed queue event."""
        jobs = []
        window = event.window
        if window is not None:
            jobs += [self._show(b, window_text(window, b.device)) for b in self.window_strips.get(window.number, [])]
        if event.type in CALL_EVENTS and self.hall_strips:
            calls = latest_calls(await self._recent(), event.ticket, event.window_number)
            jobs += [self._show_hall(b, calls) for b in self.hall_strips]
        await run_all(jobs)

    async def _recent(self) -> list[TicketView]:
        if self.queue is None:
            return []
        try:
            return (await self.queue.snapshot()).recent_calls
        except Exception as exc:
            log.info("recent calls unavailable: %s", exc)
            return []

    async def _show(self, bound: _Bound, text: LedText) -> None:
        bound.desired = text
        if available(bound.device):
            await bound.device.show(text)
        # else: shown when it comes back (see _reshow)

    async def _show_hall(self, bound: _Bound, calls: list[Call]) -> None:
        shown = [c for c in calls if bound.windows is None or c[1] in bound.windows]
        opts = bound.device.options
        await self._show(bound, led_layout.hall_strip(shown, opts.width, limit=self.hall_calls, font_px=opts.font))

    def _reshow(self, bound: _Bound) -> None:
        if bound.desired is not None:
            self.tasks.spawn(bounded(bound.device.show(bound.desired)))

    async def _initial(self) -> None:
        if self.queue is None:
            return
        for number, strips in self.window_strips.items():
            try:
                window = await self.queue.window(number)
            except Exception as exc:
                log.info("window %s: no initial state: %s", number, exc)
                continue
            await run_all([self._show(b, window_text(window, b.device)) for b in strips])
        if self.hall_strips:
            calls = latest_calls(await self._recent(), None, None)
            await run_all([self._show_hall(b, calls) for b in self.hall_strips])
