"""Printer status profiles against simulator models, over the real transports (pty and socket://).

presenter printers (bit 7 of DLE EOT 1), write-only printers (``status: none``) and
printers whose status replies come late (docs/protocols/escpos.md, "Status profiles").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.contract import PrintResult, TicketContent
from drivers.errors import ProtocolError
from drivers.health import DeviceState, Health
from drivers.printer.escpos_driver import WRITE_ONLY_DETAIL, EscposPrinter
from drivers.printer.simulator import EscposSimulator
from drivers.printer.status import (
    PRESENTER_BIT,
    TICKET_IN_PRESENTER,
    combine,
    is_reply,
    is_status_byte,
    parse_status,
)
from drivers.registry import build
from tests.support.polling import until

pytestmark = pytest.mark.timeout(60)

FAST = {"poll_interval": 0.05, "status_timeout": 0.3, "status_grace": 0.3, "reconnect_max": 0.3}
TICKET = TicketContent(
    hall_name="示范区政务服务中心", service_name="综合受理", number="A007", ahead=2, eta_minutes=9,
    issued_at=dt.datetime(2026, 11, 27, 10, 5, 0), qr_url="http://127.0.0.1:8000/t/tok7",
)

Pair = tuple[EscposSimulator, EscposPrinter]
Opener = Callable[..., Any]


@pytest.fixture(params=["socket", "pty"])
async def open_pair(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Opener]:
    """Start a simulator model and connect the production driver to it over the parametrised transport."""
    opened: list[Pair] = []

    async def opener(sim_options: dict[str, Any], printer_options: dict[str, Any], ready: bool = True) -> Pair:
        sim = EscposSimulator("printer-k1", {"png_dir": str(tmp_path), "render_png": False, **sim_options})
        url = await sim.start() if request.param == "socket" else await sim.start_pty()
        printer = build("printer-k1", "ticket_printer", "escpos", url, {**FAST, **printer_options})
        opened.append((sim, printer))
        await printer.open()
        if ready:
            assert await printer.wait_ready(5.0)
        return sim, printer

    yield opener
    for sim, printer in opened:
        await printer.close()
        await sim.stop()


def _record(printer: EscposPrinter) -> list[Health]:
    seen: list[Health] = []
    printer.tracker.listeners.append(lambda _id, health: seen.append(health))
    return seen


# --- presenter ----------------------------------------------------------------------------------


async def test_presenter_printer_prints_20_tickets_and_shows_the_ticket_in_presenter(open_pair: Opener) -> None:
    sim, printer = await open_pair({"status": "presenter"}, {"status": "presenter"})
    for i in range(20):
        result = await printer.print_ticket(TICKET)
        assert result.printed and result.fault is None, (i, result)
        health = printer.health
        assert health.state == DeviceState.READY and health.available
        assert TICKET_IN_PRESENTER in health.faults and "presenter" in (health.detail or "")
        if i % 2:  # every other citizen takes the ticket at once; the idle poll sees the empty presenter
            assert sim.take()
            await until(lambda: TICKET_IN_PRESENTER not in printer.health.faults)
    assert sim.printed == 20 and sim.lost == 0
    assert sim.replaced == 10  # the untaken ones were still there when the next ticket came


async def test_presenter_wait_waits_for_the_ticket_to_be_taken(open_pair: Opener) -> None:
    sim, printer = await open_pair({"status": "presenter"},
                                   {"status": "presenter", "presenter": "wait", "presenter_wait": 10})
    sim.take_after = 0.3  # the citizen takes each ticket after 0.3 s
    for _ in range(3):
        assert (await printer.print_ticket(TICKET)).printed
    assert sim.printed == 3 and sim.replaced == 0 and sim.taken >= 2


async def test_presenter_wait_prints_anyway_when_nobody_takes_the_ticket(open_pair: Opener) -> None:
    sim, printer = await open_pair({"status": "presenter"},
                                   {"status": "presenter", "presenter": "wait", "presenter_wait": 0.3})
    assert (await printer.print_ticket(TICKET)).printed
    assert (await printer.print_ticket(TICKET)).printed  # waited 0.3 s for a take that never came
    assert sim.printed == 2 and sim.replaced == 1 and sim.taken == 0


async def test_the_strict_profile_rejects_the_presenter_byte(open_pair: Opener) -> None:
    """What hallq did before status profiles: a printed ticket reported as a protocol error."""
    sim, printer = await open_pair({"status": "presenter"}, {})
    result = await printer.print_ticket(TICKET)
    assert sim.printed == 1  # it did print …
    assert (result.printed, result.fault) == (False, "protocol_error")  # … and the strict profile cannot tell


# --- write-only -----------------------------------------------------------------------------------


async def test_write_only_printer_prints_and_is_never_offline(open_pair: Opener) -> None:
    sim, printer = await open_pair({"status": "none"}, {"status": "none"})
    seen = _record(printer)
    for i in range(3):
        assert await printer.print_ticket(TICKET) == PrintResult(True, None, WRITE_ONLY_DETAIL)
        await sim.wait_ticket(i + 1, 5.0)
    assert sim.printed == 3 and sim.status_queries == 0
    assert printer.health.state == DeviceState.READY
    assert all(h.state != DeviceState.OFFLINE for h in seen)


async def test_a_write_only_printer_under_the_escpos_profile_is_offline(open_pair: Opener) -> None:
    """The contrast: without ``status: none`` the same silent printer refuses every ticket."""
    sim, printer = await open_pair({"status": "none"}, {}, ready=False)
    await until(lambda: printer.health.state == DeviceState.OFFLINE)
    assert not (await printer.print_ticket(TICKET)).printed and sim.printed == 0


# --- late status ---------------------------------------------------------------------------------------


async def test_late_status_printer_is_never_offline_while_it_answers(open_pair: Opener) -> None:
    sim, printer = await open_pair({}, {"status_timeout": 0.2, "status_grace": 1.0})
    sim.late_delay = 0.4  # twice the status timeout
    seen = _record(printer)
    sim.inject("late_status")
    for i in range(2):
        assert (await printer.print_ticket(TICKET)).printed
        await sim.wait_ticket(i + 1, 5.0)
    await until(lambda: printer.late_replies >= 6)  # 2 tickets x (before + after) x 3 queries, plus idle polls
    assert all(h.state != DeviceState.OFFLINE for h in seen), [h.state for h in seen]
    assert printer.health.state == DeviceState.READY


async def test_without_the_grace_a_late_printer_looks_offline(open_pair: Opener) -> None:
    """The contrast that shows the test above is honest."""
    sim, printer = await open_pair({}, {"status_timeout": 0.2, "status_grace": 0})
    sim.late_delay = 0.4
    sim.inject("late_status")
    await until(lambda: printer.health.state == DeviceState.OFFLINE)


# --- parsing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "value", "faults"),
    [
        (1, 0x92, {TICKET_IN_PRESENTER}),
        (1, 0x12, set()),
        (1, 0x9A, {"offline", TICKET_IN_PRESENTER}),
        (4, 0x1E, {"paper_near_end"}),
    ],
)
def test_presenter_vectors(n: int, value: int, faults: set[str]) -> None:
    assert parse_status(n, value, "presenter") == faults


@pytest.mark.parametrize(("n", "value", "profile"), [(2, 0x92, "presenter"), (4, 0x92, "presenter"),
                                                      (1, 0x92, "escpos")])
def test_bit7_is_only_the_presenter_on_dle_eot_1(n: int, value: int, profile: str) -> None:
    with pytest.raises(ProtocolError):
        parse_status(n, value, profile)  # type: ignore[arg-type]


def test_presenter_is_not_blocking() -> None:
    status = combine({1: 0x92, 2: 0x12, 4: 0x12}, "presenter")
    assert status.ok and status.in_presenter and status.main_fault is None


@given(st.sampled_from([1, 2, 3, 4]), st.integers(0, 255))
def test_presenter_parsing_is_escpos_parsing_plus_bit7_on_n1(n: int, value: int) -> None:
    try:
        faults = parse_status(n, value, "presenter")
    except ProtocolError:
        assert not is_reply(n, value, "presenter")
        assert not is_status_byte(value)
        return
    assert is_reply(n, value, "presenter")
    if n == 1 and value & PRESENTER_BIT:
        assert faults == parse_status(1, value & ~PRESENTER_BIT) | {TICKET_IN_PRESENTER}
    else:
        assert faults == parse_status(n, value)
