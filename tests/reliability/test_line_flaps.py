"""A line that flaps within one fault is one reported outage (drivers/health.py hysteresis).

The chaos day's finding, reproduced on one driver: the ESC/POS printer behind a
drivers/faults.py ``FaultyLink`` whose corrupting line is switched on and off three times in
quick succession. The driver sees each bad and each good status reading at once (it must
print again as soon as the printer answers), but the hall is told of one outage: one
``dropped`` and one ``is back`` log line, reported back only after the line stayed good.
"""

from __future__ import annotations

import itertools
import logging
import random

import pytest

from drivers.faults import FaultyLink
from drivers.health import DeviceState
from drivers.printer.simulator import EscposSimulator
from drivers.registry import build
from tests.support import until

pytestmark = pytest.mark.timeout(60)

FAST = {"poll_interval": 0.05, "status_timeout": 0.3, "status_grace": 0.3, "reconnect_max": 0.3}


def drops(available: list[bool]) -> int:
    """How many times a sequence of availabilities went from True to False."""
    return sum(1 for a, b in itertools.pairwise(available) if a and not b)


async def test_a_printer_flapping_on_a_corrupting_line_is_one_outage(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "hallq.devices")
    link = FaultyLink(random.Random(5))
    sim = link.attach(EscposSimulator("printer-flap"))
    printer = build("printer-flap", "ticket_printer", "escpos", await sim.start(), FAST)
    reported: list[bool] = []
    printer.tracker.listeners.append(lambda _id, h: reported.append(h.available))
    observed: list[bool] = []
    record = printer.tracker.set

    def spy(state: DeviceState, faults: tuple[str, ...] | list[str] = (), detail: str | None = None) -> None:
        record(state, faults, detail)
        observed.append(printer.health.available)

    printer.tracker.set = spy
    try:
        await printer.open()
        await until(lambda: printer.reported.available, 10)
        observed.clear()
        reported.clear()  # from the first ready on
        for _ in range(3):  # bad, good, bad, good …: each good stretch far shorter than the settle time
            link.inject("corrupt", 30)
            await until(lambda: not printer.health.available, 10, "the corrupting line never showed")
            link.clear()
            await until(lambda: printer.health.available, 10, "the printer never answered cleanly")
        assert drops([True, *observed]) >= 3, observed  # the driver saw every flap …
        await until(lambda: printer.reported.available, 10)  # … and the hall is told it is back once settled
        assert printer.reported.state == DeviceState.READY
        assert drops([True, *reported]) == 1, reported  # … but of one outage
    finally:
        await printer.close()
        await sim.stop()
    messages = [r.getMessage() for r in caplog.records if "device printer-flap " in r.getMessage()]
    assert sum("dropped" in m for m in messages) == 1, messages
    assert sum("is back" in m for m in messages) == 1, messages
