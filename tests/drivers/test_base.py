"""drivers.base: Device lifecycle and ConnectedDevice supervision, over memory:// (no sockets, no sleeps)."""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from drivers.base import ConnectedDevice, Device
from drivers.errors import DeviceFault, TransportError
from drivers.health import DeviceState
from drivers.testing import MemoryDevice
from drivers.transport import SerialOptions, Transport
from tests.support.polling import until

pytestmark = pytest.mark.timeout(30)


class EchoOptions(SerialOptions):
    """A serial driver's options: framing plus its own."""

    model_config = ConfigDict(extra="forbid")

    greeting: bytes = b"hi"
    fail_with: str | None = None


class Echo(ConnectedDevice):
    """Says its greeting on connect and expects ``ok``."""

    kind: ClassVar[str] = "test"
    name: ClassVar[str] = "echo"
    Options: ClassVar[type[BaseModel]] = EchoOptions
    options: EchoOptions

    async def on_connect(self, transport: Transport) -> None:
        await transport.write(self.options.greeting)
        if await transport.read_exactly(2, timeout=1.0) != b"ok":
            raise DeviceFault("bad_greeting")
        if self.options.fail_with:
            raise DeviceFault(self.options.fail_with)


class Plain(ConnectedDevice):
    """A connected driver without serial framing (a network-only device)."""


class Lamp(Device):
    """A lifecycle-only device (like the announcer, camera and CUPS drivers)."""

    def __init__(self, device_id: str, url: str = "local", options: object = None) -> None:
        super().__init__(device_id, url, None)
        self.calls: list[str] = []

    async def on_open(self) -> None:
        self.calls.append("open")
        self.tracker.set(DeviceState.READY)

    async def on_close(self) -> None:
        self.calls.append("close")


def ok_device(name: str) -> MemoryDevice:
    return MemoryDevice(name, handler=lambda data: b"ok" if data == b"hi" else None)


async def drop(device: ConnectedDevice, dev: MemoryDevice) -> None:
    """The device goes away; the driver notices on its next write (the default run() never reads)."""
    dev.transport.hang_up()
    with pytest.raises(TransportError):
        async with device.exclusive() as t:
            await t.write(b"x")


def fast(device: ConnectedDevice) -> ConnectedDevice:
    device.backoff.initial = device.backoff.maximum = 0.01
    return device


async def test_lifecycle_open_handshake_ready_close() -> None:
    with ok_device("echo-1") as dev:
        echo = fast(Echo("echo-1", dev.url))
        async with echo:
            assert await echo.wait_ready(2.0)
            assert echo.health.state == DeviceState.READY and dev.output == b"hi"
            async with echo.exclusive() as t:
                await t.write(b"more")
            assert dev.transport.written == [b"hi", b"more"]
        assert echo.health.state == DeviceState.CLOSED and dev.transport.closed


async def test_a_lost_link_goes_offline_then_reconnects() -> None:
    with ok_device("echo-2") as dev:
        echo = fast(Echo("echo-2", dev.url))
        states: list[DeviceState] = []
        echo.tracker.listeners.append(lambda _id, h: states.append(h.state))
        async with echo:
            assert await echo.wait_ready(2.0)
            await drop(echo, dev)
            await until(lambda: len(dev.connections) == 2 and echo.health.state == DeviceState.READY)
        assert DeviceState.OFFLINE in states[states.index(DeviceState.READY):]


async def test_a_handshake_fault_is_named_in_health() -> None:
    with ok_device("echo-3") as dev:
        async with fast(Echo("echo-3", dev.url, {"fail_with": "cover_open"})) as echo:
            await until(lambda: echo.health.state == DeviceState.FAULT)
            assert echo.health.faults == ("cover_open",)


async def test_drop_and_return_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "hallq.devices")
    with ok_device("echo-4") as dev:
        async with fast(Echo("echo-4", dev.url)) as echo:
            assert await echo.wait_ready(2.0)
            dev.refuse = "unplugged"
            await drop(echo, dev)
            await until(lambda: echo.health.state == DeviceState.OFFLINE)
            failures = len(dev.connections)
            await until(lambda: echo.backoff._attempt >= 5)  # several refused reconnects meanwhile
            dev.refuse = None
            await until(lambda: echo.health.state == DeviceState.READY and len(dev.connections) > failures)
            # reported back once the return settled (drivers/health.py SETTLE_SECONDS)
            await until(lambda: echo.reported.state == DeviceState.READY, timeout=10)
    messages = [r.getMessage() for r in caplog.records if "echo-4" in r.getMessage()]
    assert sum("dropped" in m for m in messages) == 1, messages
    assert sum("is back" in m for m in messages) == 1, messages


async def test_exclusive_without_a_link_fails_fast() -> None:
    with MemoryDevice("echo-5") as dev:
        dev.refuse = "off"
        async with fast(Echo("echo-5", dev.url)) as echo:
            with pytest.raises(TransportError):
                async with echo.exclusive(timeout=0.01):
                    pass  # pragma: no cover


async def test_exclusive_serialises_writers() -> None:
    with MemoryDevice("bus", handler=lambda d: b"ok" if d == b"hi" else None) as dev:
        async with fast(Echo("bus", dev.url)) as echo:
            assert await echo.wait_ready(2.0)

            async def frame(tag: bytes) -> None:
                async with echo.exclusive() as t:
                    await t.write(tag + b"[")
                    await asyncio.sleep(0)  # another writer gets the loop here, not the line
                    await t.write(tag + b"]")

            await asyncio.gather(*(frame(bytes([65 + i])) for i in range(5)))
            body = dev.transport.written[1:]
            assert all(body[i][:1] == body[i + 1][:1] for i in range(0, len(body), 2))


def test_serial_options_is_a_method_reading_the_options() -> None:
    echo = Echo("e", "/dev/ttyUSB0", {"baudrate": 57600, "parity": "E"})
    assert echo.serial_options()["baudrate"] == 57600 and echo.serial_options()["parity"] == "E"
    echo.options = EchoOptions(baudrate=115200)
    assert echo.serial_options()["baudrate"] == 115200  # follows the options, not a copy
    assert Plain("p", "socket://h:1").serial_options() == {}


def test_parsed_options_are_taken_as_they_are() -> None:
    parsed = EchoOptions(greeting=b"yo")
    assert Echo("e", "memory://x", parsed).options is parsed  # the registry's case: no re-validation
    assert Echo("e", "memory://x", {"greeting": b"yo"}).options == parsed
    assert Echo("e", "memory://x").options == EchoOptions()
    with pytest.raises(ValueError):
        Echo("e", "memory://x", {"nope": 1})


async def test_lifecycle_only_device() -> None:
    lamp = Lamp("lamp")
    assert lamp.health.state == DeviceState.CLOSED
    async with lamp as opened:
        assert opened is lamp and lamp.health.state == DeviceState.READY
    assert lamp.calls == ["open", "close"] and lamp.health.state == DeviceState.CLOSED


async def test_serial_framing_from_the_options_reaches_the_port() -> None:
    """Over a real pty: the driver's baudrate/stopbits options are what the tty is set to.

    (Linux ptys refuse parity and 7-bit sizes, so those are checked by SerialOptions' validation only.)
    """
    import termios

    from drivers.printer.escpos_driver import EscposPrinter
    from drivers.printer.simulator import EscposSimulator

    sim = EscposSimulator("printer-s", {"render_png": False})
    path = await sim.start_pty()
    printer = EscposPrinter("printer-s", path, {"baudrate": 57600, "stopbits": 2, "poll_interval": 60})
    try:
        await printer.open()
        assert await printer.wait_ready(5.0)
        assert printer._transport is not None
        port = printer._transport._writer.transport.serial  # the pyserial port under the asyncio transport
        _iflag, _oflag, cflag, _lflag, ispeed, ospeed, _cc = termios.tcgetattr(port.fd)
        assert ispeed == ospeed == termios.B57600 and cflag & termios.CSTOPB
    finally:
        await printer.close()
        await sim.stop()
