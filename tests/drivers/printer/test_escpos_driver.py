"""The ESC/POS driver end to end against the simulator, over socket:// and a pty (pyserial)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.contract import PrintResult, TicketContent, TicketPrinter
from drivers.health import DeviceState
from drivers.printer.escpos_driver import EscposPrinter
from drivers.printer.simulator import EscposSimulator
from drivers.printer.status import is_status_byte
from drivers.registry import build, simulator_class
from drivers.simulator import serve_tcp
from tests.support import until

pytestmark = pytest.mark.timeout(30)

FAST = {"poll_interval": 0.05, "status_timeout": 0.3, "status_grace": 0.3, "reconnect_max": 0.3}
TICKET = TicketContent(
    hall_name="示范区政务服务中心", service_name="综合受理", number="A007", ahead=2, eta_minutes=9,
    issued_at=dt.datetime(2026, 11, 27, 10, 5, 0), qr_url="http://127.0.0.1:8000/t/tok7",
    notice="请携带本人有效身份证件。",
)


@pytest.fixture(params=["socket", "pty", "file"])
async def pair(
    request: pytest.FixtureRequest, tmp_path: object
) -> AsyncIterator[tuple[EscposSimulator, EscposPrinter]]:
    sim = EscposSimulator("printer-k1", {"png_dir": str(tmp_path)})
    url = await sim.start() if request.param == "socket" else await sim.start_pty()
    if request.param == "file":  # a USB printer-class device file (/dev/usb/lp0) is opened like this
        url = f"file://{url}"
    printer = build("printer-k1", "ticket_printer", "escpos", url, FAST)
    await printer.open()
    assert await printer.wait_ready(3.0)
    yield sim, printer
    await printer.close()
    await sim.stop()


async def test_prints_a_ticket_the_simulator_renders(pair: tuple[EscposSimulator, EscposPrinter]) -> None:
    sim, printer = pair
    assert isinstance(printer, TicketPrinter) and simulator_class("escpos") is EscposSimulator
    result = await printer.print_ticket(TICKET)
    assert result == PrintResult(True)
    ticket = await sim.wait_ticket(1, 3.0)
    assert "A007" in ticket["text"] and "前面还有 2 人" in ticket["text"] and "请携带本人有效身份证件" in ticket["text"]
    assert ticket["overflow_lines"] == 0
    await until(lambda: sim.ticket(-1)["png_path"] is not None)
    assert sim.png().startswith(b"\x89PNG")
    state = sim.state()
    assert state["printed"] == 1 and state["tickets"][0]["bytes"] == len(printer.build(TICKET))
    assert printer.health.state == DeviceState.READY


@pytest.mark.parametrize(
    ("fault", "state", "faults", "printed", "result_fault"),
    [
        ("paper_near_end", DeviceState.READY, ("paper_near_end",), True, None),
        ("paper_out", DeviceState.FAULT, ("paper_out",), False, "paper_out"),
        ("cover_open", DeviceState.FAULT, ("cover_open",), False, "cover_open"),
        ("silence", DeviceState.OFFLINE, ("no_answer",), False, "offline"),
    ],
)
async def test_injected_faults_show_in_health_and_print_results(
    pair: tuple[EscposSimulator, EscposPrinter], fault: str, state: DeviceState, faults: tuple[str, ...],
    printed: bool, result_fault: str | None,
) -> None:
    sim, printer = pair
    sim.inject(fault)
    await until(lambda: printer.health.state == state and printer.health.faults == faults)  # idle poll noticed
    result = await printer.print_ticket(TICKET)
    assert (result.printed, result.fault) == (printed, result_fault)
    assert sim.printed == (1 if printed else 0)
    sim.inject(None)
    await until(lambda: printer.health.state == DeviceState.READY and not printer.health.faults)
    assert (await printer.print_ticket(TICKET)).printed


async def test_dropped_connection_goes_offline_and_reconnects(pair: tuple[EscposSimulator, EscposPrinter]) -> None:
    sim, printer = pair
    sim.inject("drop")
    await until(lambda: printer.health.state == DeviceState.OFFLINE)
    if sim.url and sim.url.startswith("socket://"):
        result = await printer.print_ticket(TICKET)
        assert not result.printed and result.fault == "offline"
    sim.inject(None)
    if sim.url and not sim.url.startswith("socket://"):
        return  # a pty cannot be "reconnected" after its handler closed; the socket case covers it
    await until(lambda: printer.health.state == DeviceState.READY, timeout=8.0)
    assert (await printer.print_ticket(TICKET)).printed


async def _flaky_server(behaviour: str) -> tuple[asyncio.Server, str, list[bytes]]:
    """A 'printer' that answers the first status round (DLE EOT 1, 2, 4), then misbehaves."""
    received: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queries = 0
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    return
                received.append(data)
                if data.startswith(b"\x10\x04"):
                    for _ in range(data.count(b"\x10\x04")):
                        queries += 1
                        writer.write(b"\x00" if behaviour == "garbage" and queries > 3 else b"\x12")
                    await writer.drain()
                elif behaviour == "vanish":  # the printer disappears in the middle of a ticket
                    writer.transport.abort()
                    return
        finally:
            writer.close()

    server, url = await serve_tcp(handler)
    return server, url, received


async def test_printer_that_vanishes_mid_ticket_is_reported() -> None:
    server, url, received = await _flaky_server("vanish")
    printer = EscposPrinter("printer-x", url, EscposPrinter.Options.model_validate(FAST))
    await printer.open()
    try:
        assert await printer.wait_ready(3.0)
        result = await printer.print_ticket(TICKET)
        assert not result.printed and result.fault == "offline"
        assert any(not chunk.startswith(b"\x10\x04") for chunk in received)  # part of the ticket got there
        await until(lambda: printer.health.state == DeviceState.OFFLINE)
    finally:
        await printer.close()
        server.close()


async def test_garbage_status_is_a_protocol_error_not_a_crash() -> None:
    server, url, _ = await _flaky_server("garbage")
    printer = EscposPrinter("printer-x", url, EscposPrinter.Options.model_validate({**FAST, "poll_interval": 60}))
    await printer.open()
    try:
        assert await printer.wait_ready(3.0)
        result = await printer.print_ticket(TICKET)
        assert not result.printed and result.fault == "protocol_error"
        assert printer.health.state == DeviceState.FAULT and printer.health.faults == ("protocol_error",)
    finally:
        await printer.close()
        server.close()


async def test_unreachable_printer_fails_fast_as_offline() -> None:
    server, url = await serve_tcp(lambda r, w: asyncio.sleep(0))
    server.close()
    await server.wait_closed()
    printer = EscposPrinter("printer-x", url, EscposPrinter.Options.model_validate(FAST))
    await printer.open()
    try:
        await until(lambda: printer.health.state == DeviceState.OFFLINE)
        async with asyncio.timeout(2):
            result = await printer.print_ticket(TICKET)
        assert not result.printed and result.fault == "offline"
    finally:
        await printer.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=12))
def test_random_status_replies_never_raise_from_print_ticket(reply: bytes) -> None:
    """Whatever a broken printer answers, print_ticket returns a PrintResult and health is set."""

    async def scenario() -> PrintResult:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            queries = 0
            while data := await reader.read(4096):
                for _ in range(data.count(b"\x10\x04")):
                    queries += 1
                    writer.write(b"\x12" if queries <= 3 else reply)  # the connect round answers well
                await writer.drain()
            writer.close()

        server, url = await serve_tcp(handler)
        printer = EscposPrinter("printer-p", url, EscposPrinter.Options.model_validate(
            {**FAST, "poll_interval": 60, "status_timeout": 0.1}))
        await printer.open()
        try:
            assert await printer.wait_ready(3.0)
            result = await printer.print_ticket(TICKET)
            assert printer.health.state in (DeviceState.READY, DeviceState.FAULT, DeviceState.OFFLINE)
            return result
        finally:
            await printer.close()
            server.close()

    result = asyncio.run(scenario())
    assert isinstance(result, PrintResult)
    if result.printed:
        assert any(is_status_byte(b) for b in reply)
