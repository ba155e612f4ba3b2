"""FF 68 keypad-bus driver: caller (呼叫器) and evaluator (评价器) keypads on one RS-485 bus."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from drivers.base import ConnectedDevice
from drivers.contract import KeypadEvent
from drivers.errors import ConfigurationError, TransportTimeout
from drivers.keypad import codec
from drivers.transport import Transport

log = logging.getLogger("hallq.devices.keypad")


class Ff68Options(BaseModel):
    """Bus options: which address is which window's caller or evaluator, and key maps."""

    model_config = ConfigDict(extra="forbid")

    callers: dict[int, int] = Field(default_factory=dict)  # address -> window
    evaluators: dict[int, int] = Field(default_factory=dict)  # address -> window
    evaluator_model: str = "five_key"
    # model -> {evaluator value -> 好差评 level 1..5}; merged over the built-in defaults
    key_maps: dict[str, dict[int, int]] = Field(default_factory=dict)
    dialect: str = "ff68"
    baudrate: int = 9600
    # An identical frame again within this many seconds is a keypad re-sending a press whose
    # ACK it missed, not a new press (a double call_next would skip a citizen). 0 disables.
    dedup_seconds: float = Field(0.3, ge=0)
    trace: bool = False

    @field_validator("key_maps")
    @classmethod
    def _levels(cls, value: dict[str, dict[int, int]]) -> dict[str, dict[int, int]]:
        for model, mapping in value.items():
            if any(not 1 <= level <= 5 for level in mapping.values()):
                raise ValueError(f"key map {model!r}: levels must be 1..5")
        return value


class Ff68Bus(ConnectedDevice):
    """One keypad bus: acknowledges every frame, yields KeypadEvents, drives keypad displays."""

    kind: ClassVar[str] = "keypad_bus"
    name: ClassVar[str] = "ff68"
    Options: ClassVar[type[Ff68Options]] = Ff68Options

    def __init__(self, device_id: str, url: str, options: Ff68Options | dict[str, object] | None = None) -> None:
        opts = options if isinstance(options, Ff68Options) else Ff68Options.model_validate(options or {})
        super().__init__(device_id, url, opts)
        self.options: Ff68Options = opts
        if opts.dialect not in codec.DIALECTS:
            raise ConfigurationError(f"unknown keypad dialect {opts.dialect!r}")
        self.dialect = codec.DIALECTS[opts.dialect]
        maps = {**codec.EVALUATOR_MAPS, **opts.key_maps}
        if opts.evaluator_model not in maps:
            raise ConfigurationError(f"unknown evaluator model {opts.evaluator_model!r}; known: {', '.join(maps)}")
        self.key_map: dict[int, int] = maps[opts.evaluator_model]
        self._subscribers: set[asyncio.Queue[KeypadEvent]] = set()
        self._display: dict[int, tuple[int | None, int | None]] = {}  # address -> (waiting, ticket)
        self._last: dict[bytes, float] = {}
        self.frames_in = 0
        # serial_options is a ClassVar in the base; this bus's baud rate is per instance.
        vars(self)["serial_options"] = {"baudrate": opts.baudrate}
        self.acks_sent = 0

    def window_of(self, address: int) -> int | None:
        """The window a keypad address belongs to (caller or evaluator), or None."""
        return self.options.callers.get(address, self.options.evaluators.get(address))

    def caller_address(self, window: int) -> int | None:
        """The caller keypad address of ``window``."""
        return next((a for a, w in self.options.callers.items() if w == window), None)

    def evaluator_address(self, window: int) -> int | None:
        """The evaluator keypad address of ``window``."""
        return next((a for a, w in self.options.evaluators.items() if w == window), None)

    # --- events ----------------------------------------------------------------------

    async def events(self) -> AsyncIterator[KeypadEvent]:
        """Key presses and ratings, as they arrive (each call is an independent subscriber)."""
        queue: asyncio.Queue[KeypadEvent] = asyncio.Queue(maxsize=1000)
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)

    def _emit(self, event: KeypadEvent) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("%s: event queue full, dropping %s", self.device_id, event)

    def _event_for(self, frame: codec.KeypadFrame) -> KeypadEvent | None:
        if codec.is_evaluator(frame, self.dialect):
            value = frame.data[-1] if frame.data else None
            level = self.key_map.get(value) if value is not None else None
            if level is None:
                log.warning("%s: evaluator %d sent unmapped value %s", self.device_id, frame.address, value)
                return None
            return KeypadEvent(frame.address, "evaluator", "rating", level, frame.raw)
        key = codec.caller_key(frame, self.dialect)
        if key is None:
            log.info("%s: unknown key frame from %d: %s", self.device_id, frame.address, frame.raw.hex(" "))
            return None
        return KeypadEvent(frame.address, "caller", key, None, frame.raw)

    def _is_repeat(self, frame: codec.KeypadFrame) -> bool:
        now = time.monotonic()
        last = self._last.get(frame.raw)
        self._last[frame.raw] = now
        if len(self._last) > 512:
            self._last = {k: v for k, v in self._last.items() if now - v < 60}
        return last is not None and now - last < self.options.dedup_seconds

    # --- supervision hooks -----------------------------------------------------------------

    async def run(self, transport: Transport) -> None:
        """Read frames, acknowledge each at once, publish events; garbage is skipped."""
        parser = codec.KeypadParser(self.dialect)
        while not self._lost.is_set():
            try:
                chunk = await transport.read(4096, timeout=5.0)
            except TransportTimeout:
                continue  # a quiet bus is normal
            for frame in parser.feed(chunk):
                self.frames_in += 1
                async with self._lock:  # writes are serialised per bus
                    await transport.write(codec.ack_for(frame, self.dialect))
                self.acks_sent += 1
                if self._is_repeat(frame):
                    continue
                event = self._event_for(frame)
                if event is not None:
                    self._emit(event)

    # --- host -> keypad ---------------------------------------------------------------------

    async def _send(self, frame: bytes) -> None:
        async with self.exclusive() as t:
            await t.write(frame)

    async def show_ticket(self, address: int, number: int | None) -> None:
        """Show a ticket number (right 3 digits), keeping the waiting count shown on the left."""
        waiting, _ = self._display.get(address, (None, None))
        self._display[address] = (waiting, number)
        await self._send(codec.display(address, number, waiting, self.dialect))

    async def show_waiting(self, address: int, count: int | None) -> None:
        """Show the waiting count (left 3 digits), keeping the ticket number."""
        _, ticket = self._display.get(address, (None, None))
        self._display[address] = (count, ticket)
        await self._send(codec.display(address, ticket, count, self.dialect))

    async def show(self, address: int, ticket: int | None, waiting: int | None) -> None:
        """Show both numbers in one frame."""
        self._display[address] = (waiting, ticket)
        await self._send(codec.display(address, ticket, waiting, self.dialect))

    async def beep(self, address: int) -> None:
        """Beep (errors)."""
        await self._send(codec.beep(address, self.dialect))

    async def start_evaluation(self, address: int) -> None:
        """Ask the evaluator to collect a rating."""
        await self._send(codec.start_evaluation(address, self.dialect))

    async def show_stars(self, address: int, stars: int) -> None:
        """Show the clerk's service stars on an evaluator."""
        await self._send(codec.show_stars(address, stars, self.dialect))
