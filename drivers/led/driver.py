"""Onbon BX LED strip driver: dynamic-area text, clear, ping as the health check; ``protocol`` picks the codec."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import ConnectedDevice
from drivers.contract import LedText
from drivers.errors import ProtocolError, TransportError, TransportTimeout
from drivers.health import NO_ANSWER, PROTOCOL_ERROR, DeviceState
from drivers.led import codec, codec6
from drivers.transport import SerialOptions, Transport

log = logging.getLogger("hallq.devices.led")


class AreaOptions(BaseModel):
    """Geometry of one dynamic area; unset fields fall back to the display's."""

    model_config = ConfigDict(extra="forbid")

    x: int = 0
    y: int = 0
    width: int | None = None
    height: int | None = None


class BxOptions(SerialOptions):
    """Per-display options (config ``devices[].options``)."""

    model_config = ConfigDict(extra="forbid")

    address: int = Field(1, ge=0, le=0xFFFF)
    width: int = Field(64, gt=0, le=4096)
    height: int = Field(16, gt=0, le=1024)
    color: Literal["red", "green", "yellow"] = "red"  # when a LedText has no colour
    color_codes: bool = True  # False on single-colour cards, which would print "\C1" literally
    effect: Literal["static", "quick", "scroll_left", "scroll_right", "scroll_up", "scroll_down"] = "static"
    align: Literal["left", "right", "center"] = "center"
    font: int = 16  # font height in px (8 px per half-width char at 16 px)
    speed: int = Field(0, ge=0, le=255)
    stay: int = Field(10, ge=0, le=255)  # 0.5 s units
    encoding: str = "gb2312"
    areas: dict[int, AreaOptions] = Field(default_factory=dict)
    ping_interval: float = Field(5.0, gt=0)
    ack_timeout: float = Field(0.5, gt=0)
    retries: int = Field(2, ge=0, le=10)
    # controller errors worth sending the request again for (busy, CRC error), and the pause first
    retry_errors: list[int] = Field(default_factory=lambda: [codec.ERR_BUSY, codec.ERR_CHECKSUM])
    retry_delay: float = Field(0.05, ge=0, le=5)
    # controller generation: bx5k (version 0x02) or bx6 (6th generation, version 0xF0, write-only:
    # the published source defines no reply or status frame; docs/protocols/onbon-bx.md)
    protocol: Literal["bx5k", "bx6"] = "bx5k"
    trace: bool = False


class _Transient(Exception):
    """A controller reply worth retrying (busy, CRC error)."""


class BxDisplay(ConnectedDevice):
    """A BX-controlled strip; ``show`` writes a dynamic area and waits for the ACK (bx6: write-only)."""

    kind: ClassVar[str] = "led_display"
    name: ClassVar[str] = "onbon_bx"
    Options: ClassVar[type[BxOptions]] = BxOptions
    options: BxOptions

    def __init__(self, device_id: str, url: str, options: BxOptions | dict[str, object] | None = None) -> None:
        super().__init__(device_id, url, options)
        opts = self.options
        self.shown: dict[int, LedText] = {}  # what we last told each area (for /api/devices)
        self._reply_sources = {opts.address, codec.BROADCAST_REPLY}

    # --- frames -------------------------------------------------------------------

    def area_for(self, text: LedText) -> codec.Area:
        """The codec Area for ``text`` from the options."""
        o = self.options
        geo = o.areas.get(text.area, AreaOptions())
        effect = o.effect if text.effect == "auto" else text.effect
        return codec.Area(
            area_id=text.area, x=geo.x, y=geo.y, width=geo.width or o.width, height=geo.height or o.height,
            align=text.align if text.align in codec.ALIGN_H else o.align, valign="middle",
            effect=effect if effect in codec.EFFECTS else "scroll_left", speed=o.speed, stay=o.stay,
        )  # fmt: skip

    def area6_for(self, text: LedText) -> codec6.Area6:
        """The 6th-generation area for ``text``: the same geometry and presentation."""
        a = self.area_for(text)
        return codec6.Area6(
            area_id=a.area_id, x=a.x, y=a.y, width=a.width, height=a.height, align=a.align,
            effect=a.effect, speed=a.speed, stay=a.stay,
        )  # fmt: skip

    def text_frame(self, text: LedText) -> bytes:
        """The dynamic-area frame for ``text``: A3 06 (bx5k) or A7 06 (bx6)."""
        body = codec.colorize(text.text, text.color or self.options.color) if self.options.color_codes else text.text
        data = body.encode(self.options.encoding, errors="replace")
        if self.options.protocol == "bx6":
            return codec6.dynamic_text(self.options.address, [(self.area6_for(text), data)])
        return codec.dynamic_text(self.options.address, [(self.area_for(text), data)])

    def clear_frame(self) -> bytes:
        """Clear: A3 10 (bx5k); bx6 has no clear command in the source, so A7 06 deletes every known area."""
        if self.options.protocol == "bx6":
            ids = tuple(sorted({0, *self.options.areas, *self.shown}))
            return codec6.delete_areas(self.options.address, ids)
        return codec.clear(self.options.address)

    # --- request / reply ------------------------------------------------------------

    async def _exchange(self, t: Transport, frame: bytes) -> codec.BxFrame:
        """Send ``frame`` and wait for the controller's reply, retrying; raises on silence."""
        if self.options.address == codec.BROADCAST:  # broadcast without reply: nothing to wait for
            await t.write(frame)
            return codec.BxFrame(codec.HOST_ADDRESS, codec.BROADCAST, bytes((*codec.CMD_ACK, 0, 0, 0)))
        parser = codec.BxParser()
        last_error: Exception | None = None
        for attempt in range(self.options.retries + 1):
            if attempt and isinstance(last_error, _Transient):
                await asyncio.sleep(self.options.retry_delay)
            await t.write(frame)
            reply = await self._await_reply(t, parser)
            if isinstance(reply, codec.BxFrame):
                return reply
            if reply is not None:
                last_error = reply
        if isinstance(last_error, _Transient):
            self.tracker.count("controller_errors_final")
            raise codec.BxProtocolError(f"{self.device_id}: {last_error} after {self.options.retries + 1} tries")
        if last_error is not None:
            raise codec.BxProtocolError(f"{self.device_id}: no valid reply ({last_error})")
        raise TransportTimeout(f"{self.device_id}: no ACK after {self.options.retries + 1} tries")

    async def _await_reply(self, t: Transport, parser: codec.BxParser) -> codec.BxFrame | Exception | None:
        """The controller's ok reply; or why not (a transient error, a bad frame); None on silence."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.ack_timeout
        error: Exception | None = None
        while (left := deadline - loop.time()) > 0:
            try:
                chunk = await t.read(4096, timeout=left)
            except TransportTimeout:
                break
            for reply in parser.feed(chunk):
                # On a shared RS-485 line, skip other controllers' replies; controllers may
                # answer from their own address or from 0xFFFE (as in the vendor's ACK sample).
                if reply.dst != codec.HOST_ADDRESS or reply.src not in self._reply_sources:
                    continue
                if reply.status == 0:
                    return reply
                if reply.status in self.options.retry_errors:
                    self.tracker.count("controller_retries")
                    return _Transient(f"controller error {codec.describe_error(reply.status)}")
                raise codec.BxProtocolError(f"controller error {codec.describe_error(reply.status)}")
            if parser.errors:
                error = parser.errors.pop()
        return error

    async def _request(self, frame: bytes) -> None:
        try:
            async with self.exclusive(timeout=self.options.ack_timeout) as t:
                if self.options.protocol == "bx6":
                    await t.write(frame)  # write-only: no 6th-generation reply is defined
                else:
                    await self._exchange(t, frame)
        except TransportTimeout as exc:
            self.set_offline(str(exc), fault=NO_ANSWER)
            raise
        except ProtocolError as exc:
            self.set_fault(PROTOCOL_ERROR, detail=str(exc))
            raise
        if self.health.state != DeviceState.READY:
            self.set_ready()

    # --- public API -----------------------------------------------------------------

    async def show(self, text: LedText) -> None:
        """Write ``text`` into its dynamic area; raises TransportError/ProtocolError when not ACKed."""
        await self._request(self.text_frame(text))
        self.shown[text.area] = text

    async def clear(self) -> None:
        """Clear the screen."""
        await self._request(self.clear_frame())
        self.shown.clear()

    async def ping(self) -> None:
        """Query status; raises when the controller does not answer (bx6: no status command, nothing sent)."""
        if self.options.protocol == "bx6":
            return
        await self._request(codec.ping(self.options.address))

    # --- supervision hooks ------------------------------------------------------------

    async def on_connect(self, transport: Transport) -> None:
        """A controller that does not answer a ping is not ready (bx6: the open link is all we can know)."""
        if self.options.protocol == "bx6":
            return
        async with self._lock:
            await self._exchange(transport, codec.ping(self.options.address))

    async def run(self, transport: Transport) -> None:
        """Ping periodically; a silent controller goes offline (the supervisor reconnects)."""
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self.options.ping_interval)
                return
            try:
                await self.ping()
            except TransportError:
                return  # offline (no_answer) already set; reconnect
            except ProtocolError:
                continue  # fault already set; keep the link and try again
