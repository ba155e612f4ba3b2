"""A simulated BX-5K/6K controller: parses frames, keeps the text per area, ACKs.

It also takes 6th-generation (0xF0) A7 06 frames, told apart by the header's version byte;
those are applied and never answered (the published source defines no reply).

One simulator is one controller (one address), like one strip on the network; the
demo runs one per window. ``address: null`` in the options answers every address.
Faults: ``silence`` (reads and drops everything, answers nothing) and ``corrupt``
(processes frames but replies with a bad CRC). The action ``fail_next`` {count, error}
answers the next ``count`` requests with a controller error (``busy``, ``crc`` or a
number) without applying them, as a busy controller does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, ClassVar

from drivers.led import codec, codec6
from drivers.simulator import StreamSimulator

log = logging.getLogger("hallq.sim.led")


def _option(options: Any, name: str, default: Any) -> Any:
    if isinstance(options, dict):
        return options.get(name, default)
    return getattr(options, name, default)


class BxSimulator(StreamSimulator):
    """Implements ``drivers.simulator.Simulator`` for the onbon_bx driver."""

    faults: ClassVar[tuple[str, ...]] = ("silence", "corrupt")

    def __init__(self, device_id: str, options: Any = None) -> None:
        super().__init__(device_id)
        self.address: int | None = _option(options, "address", 1)
        self.encoding: str = _option(options, "encoding", "gb2312")
        self.areas: dict[int, str] = {}
        self.details: dict[int, dict[str, Any]] = {}
        self.frames = 0
        self.frames6 = 0  # of which 6th generation (0xF0)
        self.rejected = 0
        self.errors_sent = 0
        self._fail_next: list[int] = []
        # called with each accepted frame as it is applied (timestamps in the benchmark)
        self.observers: list[Callable[[codec.BxFrame], None]] = []

    # --- Simulator protocol ------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Current text per area, frame count and fault."""
        return {
            "areas": dict(self.areas),
            "details": {k: dict(v) for k, v in self.details.items()},
            "frames": self.frames,
            "frames6": self.frames6,
            "rejected": self.rejected,
            "errors_sent": self.errors_sent,
            "fault": self.fault,
        }

    async def act(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """``clear`` wipes the screen locally (like a power cycle); ``fail_next`` {count, error}."""
        if action == "clear":
            self.areas.clear()
            self.details.clear()
            return self.state()
        if action == "fail_next":
            error = params.get("error", "busy")
            code = {"busy": codec.ERR_BUSY, "crc": codec.ERR_CHECKSUM}.get(error) if isinstance(error, str) else error
            if code is None:
                raise ValueError(f"unknown controller error {error!r}; known: busy, crc, or a number")
            self._fail_next = [int(code)] * int(params.get("count", 1))
            return self.state()
        raise ValueError(f"unknown action {action!r}; known: clear, fail_next")

    # --- bytes -----------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection until it closes; each frame is 5th or 6th generation by its header."""
        splitter = codec6.FrameSplitter()
        self._writers.add(writer)
        try:
            while data := await reader.read(4096):
                if self.fault == "silence":
                    continue
                before = splitter.cut_short
                bodies = splitter.feed(data)
                self.rejected += splitter.cut_short - before
                for body in bodies:
                    reply = await self._receive(body)
                    if reply is not None:
                        writer.write(reply)
                        await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _receive(self, body: bytes) -> bytes | None:
        """Decode one escaped body as whichever generation its header names, and apply it."""
        try:
            raw = codec.unescape(body)
            if codec6.is_bx6(raw):
                await self._apply6(codec6.decode_raw(raw))
                return None
            frame = codec.decode_body(body)
        except codec.BxProtocolError:
            self.rejected += 1
            return None
        return await self._apply(frame)

    async def _apply6(self, frame: codec6.Bx6Frame) -> None:
        # The source defines no 6th-generation reply frame, so the simulator never answers one.
        if self.address is not None and frame.dst not in (self.address, codec.BROADCAST, codec.BROADCAST_REPLY):
            return
        if frame.command != codec6.CMD_DYNAMIC_TEXT:
            self.rejected += 1
            return
        try:
            request = codec6.parse_dynamic_text(frame)
        except codec6.Bx6ProtocolError:
            self.rejected += 1
            return
        for area_id in request.deleted:
            self.areas.pop(area_id, None)
            self.details.pop(area_id, None)
        for block in request.areas:
            raw = block.text.decode(self.encoding, errors="replace")
            self.areas[block.area.area_id] = codec.strip_color_codes(raw)
            self.details[block.area.area_id] = {
                "raw": raw, "x": block.area.x, "y": block.area.y, "width": block.area.width,
                "height": block.area.height, "effect": block.area.effect, "align": block.area.align,
                "protocol": "bx6",
            }  # fmt: skip
        self.frames += 1
        self.frames6 += 1
        async with self.changed:
            self.changed.notify_all()

    def _addressed(self, frame: codec.BxFrame) -> bool:
        return self.address is None or frame.dst in (self.address, codec.BROADCAST, codec.BROADCAST_REPLY)

    async def _apply(self, frame: codec.BxFrame) -> bytes | None:
        if not self._addressed(frame):
            return None
        if self._fail_next and frame.status != 0 and frame.dst != codec.BROADCAST:
            self.errors_sent += 1
            return codec.ack(dst=frame.src, src=frame.dst, error=self._fail_next.pop(0))  # not applied
        error = 0
        command = frame.command
        if command == codec.CMD_CLEAR:
            self.areas.clear()
            self.details.clear()
        elif command == codec.CMD_DYNAMIC_TEXT:
            try:
                blocks = codec.parse_dynamic_text(frame)
            except codec.BxProtocolError:
                blocks, error = [], 0x01
            for block in blocks:
                raw = block.text.decode(self.encoding, errors="replace")
                self.areas[block.area.area_id] = codec.strip_color_codes(raw)
                self.details[block.area.area_id] = {
                    "raw": raw, "x": block.area.x, "y": block.area.y, "width": block.area.width,
                    "height": block.area.height, "effect": block.area.effect, "align": block.area.align,
                }  # fmt: skip
        elif command != codec.CMD_PING:
            error = 0x02  # unsupported command
        self.frames += 1
        for observer in self.observers:
            observer(frame)
        async with self.changed:
            self.changed.notify_all()
        if frame.dst == codec.BROADCAST or frame.status == 0:
            return None  # broadcast without reply, or no reply asked
        # Reply from the address the request used (0xFFFE for a broadcast-with-reply).
        if self.fault == "corrupt":
            bad = codec.BxFrame(frame.src, frame.dst, bytes((*codec.CMD_ACK, error, 0, 0)))
            return codec.encode_with_crc(bad, 0x5A5A)
        return codec.ack(dst=frame.src, src=frame.dst, error=error)
