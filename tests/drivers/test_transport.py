"""drivers.transport: URL checks, serial framing, the Transport contract (memory and socket), Backoff."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from drivers.errors import ConfigurationError, DeviceConfigError, TransportError, TransportTimeout
from drivers.simulator import serve_tcp
from drivers.testing import MemoryDevice, MemoryTransport
from drivers.transport import SCHEMES, Backoff, SerialOptions, _serial_kwargs, check_url, open_transport

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(
    "url",
    ["socket://127.0.0.1:9100", "/dev/ttyUSB0", "serial:///dev/ttyS0", "file:///dev/usb/lp0",
     "rfc2217://10.0.0.5:4001", "memory://printer"],
)
def test_check_url_accepts_every_scheme_open_transport_opens(url: str) -> None:
    check_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [("http://x/", "unsupported scheme"), ("socket://host", "socket://host:port"),
     ("socket://:9100", "socket://host:port"), ("ttyUSB0", "absolute device path"),
     ("socket://h:99999", "bad URL"), ("memory://", "memory://name")],
)
def test_check_url_names_the_problem(url: str, message: str) -> None:
    with pytest.raises(DeviceConfigError, match=message):
        check_url(url)


def test_schemes_and_the_old_error_name() -> None:
    assert {"socket", "serial", "file", "memory", ""} <= set(SCHEMES)
    assert ConfigurationError is DeviceConfigError  # server code still imports the old name


def test_serial_options_are_one_validated_block() -> None:
    o = SerialOptions(baudrate=57600, parity="E", stopbits=2, rtscts=True)
    assert o.serial_kwargs() == {"baudrate": 57600, "bytesize": 8, "parity": "E", "stopbits": 2, "rtscts": True}
    for bad in ({"baudrate": 12345}, {"parity": "X"}, {"stopbits": 3}, {"bytesize": 9}, {"baud": 9600}):
        with pytest.raises(ValidationError):
            SerialOptions.model_validate(bad)


def test_driver_framing_overrides_the_url_query() -> None:
    assert _serial_kwargs("baudrate=19200&parity=E", {})["baudrate"] == 19200
    kwargs = _serial_kwargs("baudrate=19200", SerialOptions(baudrate=57600).serial_kwargs())
    assert kwargs["baudrate"] == 57600 and kwargs["parity"] == "N"


async def test_memory_transport_records_and_answers() -> None:
    t = MemoryTransport(handler=lambda data: b"pong" if data == b"ping" else None)
    await t.write(b"ping")
    assert await t.read_exactly(4) == b"pong"
    t.script(b"A", b"BC")
    await t.write(b"1")
    await t.write(b"2")
    assert await t.read_exactly(3) == b"ABC"
    assert t.written == [b"ping", b"1", b"2"] and t.output == b"ping12"


async def test_memory_transport_timeouts_stale_input_and_hang_up() -> None:
    t = MemoryTransport()
    with pytest.raises(TransportTimeout):
        await t.read(timeout=0.01)
    t.feed(b"stale")
    assert await t.discard_input(0.001) == b"stale"
    t.feed(b"ab")
    with pytest.raises(TransportTimeout):
        await t.read_exactly(3, timeout=0.01)
    assert await t.read(10) == b"ab"  # a timed-out read_exactly loses nothing
    t.hang_up()
    with pytest.raises(TransportError):
        await t.write(b"x")
    assert t.closed


async def test_memory_url_opens_a_fresh_connection_each_time() -> None:
    with MemoryDevice("dev-a", handler=lambda d: d.upper()) as dev:
        first = await open_transport(dev.url)
        second = await open_transport("memory://dev-a")
        assert first is not second and dev.connections == [first, second]
        await second.write(b"hi")
        assert await second.read_exactly(2) == b"HI" and dev.output == b"hi"
        dev.refuse = "powered off"
        with pytest.raises(TransportError, match="powered off"):
            await open_transport(dev.url)
    with pytest.raises(DeviceConfigError, match="no memory device"):
        await open_transport("memory://dev-a")


async def test_socket_transport_contract() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(100)
        writer.write(data[:2])
        await writer.drain()
        writer.write(data[2:])  # a second chunk: read_exactly must join them
        await writer.drain()
        writer.close()

    server, url = await serve_tcp(echo)
    try:
        t = await open_transport(url)
        await t.write(b"hello")
        assert await t.read_exactly(5) == b"hello"
        with pytest.raises(TransportError):  # the peer closed: not a timeout
            await t.read(timeout=1.0)
        await t.close()
        await t.close()  # twice is fine
    finally:
        server.close()


async def test_refused_connection_is_a_transport_error() -> None:
    server, url = await serve_tcp(lambda r, w: asyncio.sleep(0))
    server.close()
    await server.wait_closed()
    with pytest.raises(TransportError):
        await open_transport(url, timeout=1.0)
    with pytest.raises(DeviceConfigError):
        await open_transport("gopher://x")


def test_backoff_grows_caps_and_resets() -> None:
    b = Backoff(initial=0.5, factor=2, maximum=3, jitter=0)
    assert [b.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    b.reset()
    assert b.next_delay() == 0.5
