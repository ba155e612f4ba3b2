"""The printer wiring in a device host: print.requested → claim → print on the kiosk's printer → finish."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.config import HallConfig
from server.devices.manager import DeviceManager
from server.kiosk.jobs import PrintJob
from server.kiosk.printing import PrinterWiring
from server.queue.events import DataEvent, Event, EventType
from server.queue.views import TicketView
from tests.support import until

pytestmark = pytest.mark.timeout(60)

FAST = {"poll_interval": 0.05, "status_timeout": 0.3, "reconnect_max": 0.3}
PRINTERS: list[dict[str, Any]] = [
    {"id": "printer-k1", "kind": "ticket_printer", "driver": "escpos", "url": "sim", "kiosk": "k1",
     "options": {"encoding": "gb18030", "paper_mm": 80, **FAST}},
    {"id": "printer-k2", "kind": "ticket_printer", "driver": "escpos", "url": "sim:pty", "kiosk": "k2",
     "options": {"encoding": "gbk", "paper_mm": 58, "qr": "raster", "chinese_mode_cmd": True, **FAST}},
]
TICKET = TicketView.from_dict({
    "id": 5, "number": "B005", "service": "social", "service_name": "社会保障", "state": "issued",
    "priority": "normal", "channel": "kiosk", "window": None, "ahead": 3, "eta_minutes": 30,
    "issued_at": "2026-11-27T09:15:00+08:00", "masked_name": None, "kiosk": "k2",
})


class JobPort:
    """The print side of a QueuePort: hands out each job once and records results."""

    def __init__(self) -> None:
        self.jobs: dict[int, PrintJob] = {}
        self.claims: list[int] = []
        self.results: dict[int, tuple[bool, str | None]] = {}

    def add(self, job_id: int, kiosk: str) -> Event:
        self.jobs[job_id] = PrintJob(job_id, kiosk, TICKET, f"tok_{job_id}")
        return Event(EventType.PRINT_REQUESTED, ("host",), DataEvent({"job": job_id, "kiosk": kiosk,
                                                                      "ticket_id": TICKET.id}))

    async def claim_print_job(self, job_id: int) -> PrintJob | None:
        self.claims.append(job_id)
        return self.jobs.pop(job_id, None)

    async def finish_print_job(self, job_id: int, *, printed: bool, fault: str | None) -> None:
        self.results[job_id] = (printed, fault)


@pytest.fixture
async def rig(demo_config: HallConfig) -> AsyncIterator[tuple[DeviceManager, PrinterWiring, JobPort]]:
    """A demo-mode manager with two simulated printers (k1 over TCP, k2 over a pty) and the printer wiring."""
    config = HallConfig.model_validate({**demo_config.model_dump(), "devices": PRINTERS})
    port = JobPort()
    manager = DeviceManager(config, None, demo=True, public_base_url="http://hall.example:8000")
    wiring = PrinterWiring(port=port, timeout=5)
    manager.add_wiring(wiring)
    await manager.start()
    try:
        await until(lambda: all(e["health"]["available"] for e in manager.snapshot()["devices"]))
        yield manager, wiring, port
    finally:
        await manager.stop()


async def test_the_job_prints_on_that_kiosks_printer(rig: tuple[DeviceManager, PrinterWiring, JobPort]) -> None:
    manager, wiring, port = rig
    await wiring.on_event(port.add(1, "k2"))
    await until(lambda: 1 in port.results)
    assert port.results[1] == (True, None)
    text = (await manager.simulators["printer-k2"].wait_ticket(1, 5.0))["text"]
    assert "B005" in text and "社会保障" in text and "前面还有 3 人" in text and "[图像" in text  # raster QR
    assert "身份证原件" in "".join(text.split())  # the service's 一次告知 notice from the config (wrapped)
    assert manager.simulators["printer-k1"].printed == 0
    await wiring.on_event(port.add(2, "k1"))
    await until(lambda: 2 in port.results)
    k1_text = (await manager.simulators["printer-k1"].wait_ticket(1, 5.0))["text"]
    assert "[二维码 http://hall.example:8000/t/tok_2]" in k1_text


async def test_a_job_taken_elsewhere_or_for_another_kiosk_is_not_printed(
    rig: tuple[DeviceManager, PrinterWiring, JobPort]
) -> None:
    manager, wiring, port = rig
    event = port.add(3, "k1")
    await wiring.on_event(event)
    await wiring.on_event(event)  # delivered twice: the second claim loses
    await until(lambda: 3 in port.results and port.claims.count(3) == 2)
    await wiring.on_event(Event(EventType.PRINT_REQUESTED, ("host",), DataEvent({"job": 9, "kiosk": "k9"})))
    await wiring.stop()
    assert manager.simulators["printer-k1"].printed == 1 and 9 not in port.claims


async def test_faulted_or_vanished_printer_reports_a_fault(
    rig: tuple[DeviceManager, PrinterWiring, JobPort]
) -> None:
    manager, wiring, port = rig
    sim = manager.simulators["printer-k1"]
    sim.inject("paper_out")
    await wiring.on_event(port.add(4, "k1"))
    await until(lambda: 4 in port.results)
    assert port.results[4] == (False, "paper_out")
    sim.inject("drop")
    await wiring.on_event(port.add(5, "k1"))
    await until(lambda: 5 in port.results)
    assert port.results[5][0] is False and port.results[5][1] == "offline"
    sim.inject(None)
    await until(lambda: manager.snapshot()["devices"][0]["health"]["state"] == "ready", timeout=8)
    await wiring.on_event(port.add(6, "k1"))
    await until(lambda: 6 in port.results)
    assert port.results[6] == (True, None)
