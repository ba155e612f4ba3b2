"""EscposPrinter logic over memory:// (drivers.testing): no sockets, no sleeps."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from drivers.contract import TicketContent
from drivers.health import DeviceState
from drivers.printer.escpos import status_query
from drivers.printer.escpos_driver import EscposPrinter
from drivers.testing import MemoryDevice

pytestmark = pytest.mark.timeout(20)

TICKET = TicketContent(hall_name="示范区政务服务中心", service_name="综合受理", number="A007", ahead=1, eta_minutes=3,
                       issued_at=dt.datetime(2026, 11, 27, 10, 5), qr_url="http://127.0.0.1:8000/t/x")
QUERIES = {status_query(n) for n in (1, 2, 3, 4)}
OPTIONS = {"poll_interval": 60, "status_timeout": 0.2, "status_grace": 0.2}


def answer_each_query(data: bytes) -> bytes:
    """A printer that answers 0x12 (all well) to each DLE EOT in a write."""
    return b"\x12" * data.count(b"\x10\x04")


async def test_status_queries_go_one_at_a_time() -> None:
    with MemoryDevice("p1", handler=answer_each_query) as dev:
        async with EscposPrinter("p1", dev.url, OPTIONS) as printer:
            assert await printer.wait_ready(2.0)
            assert (await printer.print_ticket(TICKET)).printed
        writes = dev.transport.written
        status_writes = [w for w in writes if w.startswith(b"\x10\x04")]
        assert status_writes and all(w in QUERIES for w in status_writes)  # never two in one write
        assert len(status_writes) == 9  # connect, before and after the ticket: DLE EOT 1, 2, 4 each
        ticket = [w for w in writes if not w.startswith(b"\x10\x04")]
        assert ticket == [printer.build(TICKET)]


async def test_stale_bytes_are_discarded_before_each_query() -> None:
    with MemoryDevice("p2", handler=answer_each_query) as dev:
        async with EscposPrinter("p2", dev.url, OPTIONS) as printer:
            assert await printer.wait_ready(2.0)
            dev.transport.feed(b"\x00\xff")  # garbage left over (a late reply, line noise)
            result = await printer.print_ticket(TICKET)
            assert result.printed and printer.health.state == DeviceState.READY


async def test_a_reply_within_the_grace_counts() -> None:
    loop = asyncio.get_running_loop()
    holder: dict[str, MemoryDevice] = {}

    def late(data: bytes) -> None:
        for _ in range(data.count(b"\x10\x04")):  # answer after the timeout, within the grace
            loop.call_later(0.3, holder["dev"].transport.feed, b"\x12")

    with MemoryDevice("p3", handler=late) as dev:
        holder["dev"] = dev
        async with EscposPrinter("p3", dev.url, {**OPTIONS, "status_grace": 1.0}) as printer:
            assert await printer.wait_ready(5.0)
            assert printer.health.state == DeviceState.READY and printer.late_replies == 3
