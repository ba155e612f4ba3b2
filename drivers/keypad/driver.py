"""FF 68 keypad-bus driver: caller (呼叫器) and evaluator (评价器) keypads on one RS-485 bus."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import ClassVar

from drivers.base import ConnectedDevice
from drivers.contract import KeypadEvent
from drivers.errors import TransportTimeout
from drivers.events import EventFanout
from drivers.keypad import codec
from drivers.keypad.options import CallerSpec, EvaluatorSpec, Ff68Options
from drivers.transport import Transport

log = logging.getLogger("hallq.devices.keypad")

__all__ = ["CallerSpec", "EvaluatorSpec", "Ff68Bus", "Ff68Options"]

# health counters (drivers.health.Health.counters)
REJECTED_FRAMES = "rejected_frames"  # bad checksum / end byte
UNMAPPED_VALUES = "unmapped_evaluator_values"  # beeped, never acknowledged
REJECTED_ENTRIES = "rejected_entries"  # digits + OK a standard caller cannot act on
UNKNOWN_KEYS = "unknown_keys"


class Ff68Bus(ConnectedDevice):
    """One keypad bus: acknowledges every frame, yields KeypadEvents, drives keypad displays."""

    kind: ClassVar[str] = "keypad_bus"
    name: ClassVar[str] = "ff68"
    Options: ClassVar[type[Ff68Options]] = Ff68Options
    options: Ff68Options

    def __init__(self, device_id: str, url: str, options: Ff68Options | dict[str, object] | None = None) -> None:
        super().__init__(device_id, url, options)
        opts = self.options
        self.dialect = codec.DIALECTS[opts.dialect]
        self.key_map: dict[int, int] = {**codec.EVALUATOR_MAPS, **opts.key_maps}[opts.evaluator_model]
        self._fanout: EventFanout[KeypadEvent] = EventFanout(device_id, maxsize=1000)
        self._frames: EventFanout[codec.KeypadFrame] = EventFanout(f"{device_id} frames", maxsize=1000)
        self._display: dict[int, tuple[int | None, int | None]] = {}  # address -> (waiting, ticket)
        self._last: dict[bytes, float] = {}
        self.frames_in = 0
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

    def events(self) -> AsyncIterator[KeypadEvent]:
        """Key presses and ratings, as they arrive (each call is an independent subscriber)."""
        return self._fanout.subscribe()

    def frames(self) -> AsyncIterator[codec.KeypadFrame]:
        """Every valid frame from the keypads, mapped or not (commissioning), repeats left out."""
        return self._frames.subscribe()

    def _emit(self, event: KeypadEvent) -> None:
        self._fanout.publish(event)

    def _event_for(self, frame: codec.KeypadFrame) -> KeypadEvent | None:
        """The event a frame means, or None when it must be refused (see ``_refusal``)."""
        if codec.is_evaluator(frame, self.dialect):
            value = frame.data[-1] if frame.data else None
            level = self.options.evaluator_map(frame.address).get(value) if value is not None else None
            if level is None:
                return None
            return KeypadEvent(frame.address, "evaluator", "rating", level, frame.raw)
        spec = self.options.caller_spec(frame.address)
        keys = {**self.dialect.keys, **(spec.keys or {})}
        ok_codes = {**self.dialect.ok_codes, **(spec.ok_codes or {})}
        typed = codec.caller_input(frame, self.dialect, keys, ok_codes)
        if typed.key is None:
            return None
        if typed.key == "entry":
            if not codec.CALLER_MODELS[spec.model]:
                return None
            return KeypadEvent(frame.address, "caller", "call_number", int(typed.digits), frame.raw, typed.digits)
        return KeypadEvent(frame.address, "caller", typed.key, None, frame.raw)

    def _refusal(self, frame: codec.KeypadFrame) -> str:
        """Why ``_event_for`` refused ``frame``: the health counter to bump."""
        if codec.is_evaluator(frame, self.dialect):
            return UNMAPPED_VALUES
        spec = self.options.caller_spec(frame.address)
        keys = {**self.dialect.keys, **(spec.keys or {})}
        typed = codec.caller_input(frame, self.dialect, keys, {**self.dialect.ok_codes, **(spec.ok_codes or {})})
        return REJECTED_ENTRIES if typed.key == "entry" else UNKNOWN_KEYS

    def _is_repeat(self, frame: codec.KeypadFrame) -> bool:
        now = time.monotonic()
        last = self._last.get(frame.raw)
        self._last[frame.raw] = now
        if len(self._last) > 512:
            self._last = {k: v for k, v in self._last.items() if now - v < 60}
        return last is not None and now - last < self.options.dedup_seconds

    # --- supervision hooks -----------------------------------------------------------------

    async def run(self, transport: Transport) -> None:
        """Read frames, answer each at once (ACK, or the error beep), publish events."""
        parser = codec.KeypadParser(self.dialect)
        while not self._lost.is_set():
            try:
                chunk = await transport.read(4096, timeout=5.0)
            except TransportTimeout:
                continue  # a quiet bus is normal
            rejected = parser.error_count
            frames = parser.feed(chunk)
            if parser.error_count > rejected:
                self.tracker.count(REJECTED_FRAMES, parser.error_count - rejected)
            for frame in frames:
                self.frames_in += 1
                repeat = self._is_repeat(frame)
                event = self._event_for(frame)
                # A press hallq cannot act on is answered with the error beep, never the ACK:
                # the keypad must not show the citizen or clerk that it counted.
                answer = codec.ack_for(frame, self.dialect) if event is not None else codec.beep(
                    frame.address, self.dialect
                )
                async with self._lock:  # writes are serialised per bus
                    await transport.write(answer)
                if not repeat:
                    self._frames.publish(frame)
                if event is None:
                    if not repeat:
                        reason = self._refusal(frame)
                        self.tracker.count(reason)
                        log.warning("%s: %s from %d: %s", self.device_id, reason, frame.address, frame.raw.hex(" "))
                    continue
                self.acks_sent += 1
                if not repeat:
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
