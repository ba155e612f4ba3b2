"""drivers/faults.py: each line fault does what it says to a real TCP connection (an echo device)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from drivers.faults import FaultyLink
from drivers.simulator import serve_tcp
from tests.support import until


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(100):
        writer.write(data)
        await writer.drain()


@pytest.fixture
async def line() -> AsyncIterator[tuple[FaultyLink, asyncio.StreamReader, asyncio.StreamWriter]]:
    link = FaultyLink(random.Random(1), late_seconds=0.2)
    server, url = await serve_tcp(link.wrap(_echo))
    host, port = url.removeprefix("socket://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    await until(lambda: link.writers)
    try:
        yield link, reader, writer
    finally:
        writer.close()
        server.close()


async def _ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes, wait: float = 2.0) -> bytes:
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.readexactly(len(data)), wait)
    except TimeoutError:
        return b""


async def test_a_clear_line_echoes(line: tuple[FaultyLink, asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    _, reader, writer = line
    assert await _ask(reader, writer, b"hello") == b"hello"


async def test_stall_loses_bytes_then_the_line_comes_back(
        line: tuple[FaultyLink, asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    link, reader, writer = line
    link.inject("stall", 0.5)
    assert await _ask(reader, writer, b"lost!", wait=0.3) == b""
    await until(lambda: not link.active("stall"), 5)
    assert await _ask(reader, writer, b"again") == b"again"
    assert link.injected["stall"] == 1


async def test_corrupt_flips_exactly_one_bit(line: tuple[FaultyLink, asyncio.StreamReader,
                                                          asyncio.StreamWriter]) -> None:
    link, reader, writer = line
    link.inject("corrupt", 30)
    sent = b"\x00" * 8
    got = await _ask(reader, writer, sent)
    assert len(got) == len(sent) and sum(bin(a ^ b).count("1") for a, b in zip(got, sent, strict=True)) == 1
    assert link.corrupted == 1


async def test_late_keeps_the_order(line: tuple[FaultyLink, asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    link, reader, writer = line
    link.inject("late", 0.1)
    writer.write(b"one")
    await writer.drain()
    await asyncio.sleep(0.15)  # the fault is over; this reply must still queue behind the late one
    writer.write(b"two")
    await writer.drain()
    assert await asyncio.wait_for(reader.readexactly(6), 5) == b"onetwo"


async def test_drop_closes_the_connection(line: tuple[FaultyLink, asyncio.StreamReader,
                                                       asyncio.StreamWriter]) -> None:
    link, reader, _ = line
    link.inject("drop")
    assert await asyncio.wait_for(reader.read(), 5) == b""
    with pytest.raises(ValueError, match="unknown line fault"):
        link.inject("fire")
