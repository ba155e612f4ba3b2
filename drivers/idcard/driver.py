"""The SAM ID-card reader driver: polls the reader and reports each card once per placement.

Cycle (GA/T 467 practice): a status query every ``status_interval`` seconds, a find
every ``poll_interval``; on 9F (card found) select and read at once. Replies are
framed by their LEN field, so chunked delivery works; a reply that does not arrive
in time is a timeout, after which stale input is discarded (resync). A card lying
on the reader is reported once (``placed``) and ``removed`` when it is lifted.

Many readers answer FIND with 80 (no card) after a successful read while the card still
lies there. With ``presence: select`` (default) or ``read_address`` a FIND of 80 after a
read is double-checked with that command (no re-read): a card lying still is one
placement until it is lifted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from drivers.base import ConnectedDevice
from drivers.contract import CardEvent
from drivers.errors import TransportTimeout
from drivers.events import EventFanout
from drivers.health import NO_ANSWER, SELF_TEST_FAILED, DeviceState
from drivers.idcard.card import IdCard, parse_read_reply
from drivers.idcard.codec import (
    FIND,
    READ,
    READ_ADDRESS,
    READ_FINGERPRINT,
    SELECT,
    STATUS,
    CardDataError,
    Command,
    FrameParser,
    Response,
    SamCodecError,
    SamStatus,
    card_present,
    describe,
)
from drivers.transport import SerialOptions, Transport

log = logging.getLogger("hallq.devices.idcard")


class SamReaderOptions(SerialOptions):
    """Options of a SAM reader entry in the hall config."""

    model_config = ConfigDict(extra="forbid")

    baudrate: int = Field(default=115200, description="UART speed (readers default to 115200)")
    poll_interval: float = Field(default=0.5, gt=0, description="seconds between card finds")
    status_interval: float = Field(default=5.0, gt=0, description="seconds between SAM status queries")
    reply_timeout: float = Field(default=1.0, gt=0, description="seconds to wait for a short reply")
    read_timeout: float = Field(default=3.0, gt=0, description="seconds to wait for the 1295-byte card reply")
    offline_after: int = Field(default=2, ge=1, description="unanswered polls before the reader counts as offline")
    removal_misses: int = Field(default=2, ge=1, description="finds without a card before it counts as lifted")
    fingerprint: bool = Field(default=False, description="read with 30 10 (text, photo and fingerprint)")
    presence: Literal["find", "select", "read_address"] = Field(
        default="select",
        description="after a read, how a FIND answering 80 is double-checked: many readers answer 80 "
        "while the read card still lies there; 'find' trusts FIND alone",
    )
    # No ``trace`` option on purpose: a hex dump of a read reply is the citizen's ID data.


class SamReader(ConnectedDevice):
    """A second-generation ID-card reader speaking SAM frames over serial or TCP."""

    kind: ClassVar[str] = "idcard_reader"
    name: ClassVar[str] = "sam"
    Options: ClassVar[type[SamReaderOptions]] = SamReaderOptions
    options: SamReaderOptions

    def __init__(self, device_id: str, url: str, options: SamReaderOptions | dict[str, Any] | None = None) -> None:
        super().__init__(device_id, url, options)
        self.opts = self.options  # the name this driver's methods use
        self._fanout: EventFanout[CardEvent] = EventFanout(device_id, maxsize=64)
        self._parser = FrameParser()
        self._present = False  # a card was reported and not yet lifted
        self._failure_reported = False  # read_failed already sent for the card on the reader
        self._misses = 0
        self._halted = False  # FIND answered 80 while the card read lay there (this reader's habit)
        self._silent = 0
        self._last_status = float("-inf")
        self.reads = 0  # successful card reads (observability and tests)

    # --- contract -----------------------------------------------------------------------------

    def events(self) -> AsyncIterator[CardEvent]:
        """Card events (placed / removed / read_failed) from now on, for one consumer."""
        return self._fanout.subscribe()

    def _emit(self, event: CardEvent) -> None:
        self._fanout.publish(event)

    async def refresh(self) -> None:
        """Query the SAM status now (the manager calls this after a simulator fault change)."""
        self._last_status = float("-inf")
        response = await self._request(STATUS, self.opts.reply_timeout)
        if response is not None:
            self._on_status(response)

    # --- connection hooks ------------------------------------------------------------------------

    async def on_connect(self, transport: Transport) -> None:
        """Drop stale bytes and ask the SAM for its status once."""
        await transport.discard_input(0.05)
        self._parser.reset()
        self._silent = 0
        response = await self._transact(transport, STATUS, self.opts.reply_timeout)
        self._on_status(response)

    async def run(self, transport: Transport) -> None:
        """The polling cycle, until the link is lost."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                due = loop.time() - self._last_status >= self.opts.status_interval
                if due or self.health.state != DeviceState.READY:
                    response = await self._request(STATUS, self.opts.reply_timeout)
                    if response is not None:
                        self._on_status(response)
                if self.health.state == DeviceState.READY:
                    await self._poll_card()
                await asyncio.sleep(self.opts.poll_interval)
        finally:
            self._end_placement("connection lost")

    # --- the cycle ---------------------------------------------------------------------------------

    def _on_status(self, response: Response) -> None:
        self._last_status = asyncio.get_running_loop().time()
        if response.sw3 == SamStatus.SELF_TEST_FAILED:
            self._end_placement("SAM self-test failed")
            self.set_fault(SELF_TEST_FAILED, detail="SAM self-test failed (60)")
        elif response.sw3 == SamStatus.OK and self.health.state != DeviceState.READY:
            self.set_ready()
        elif response.sw3 != SamStatus.OK:
            log.info("reader %s: status answered %s", self.device_id, describe(response.sw3))

    async def _poll_card(self) -> None:
        found = await self._request(FIND, self.opts.reply_timeout)
        if found is None:
            return
        if found.sw3 == SamStatus.CARD_FOUND:
            self._misses = 0
            if self._present and self._halted:
                # This reader fell silent to FIND after the read; a card found again is a new
                # placement (the card was swapped between two polls), not the one read.
                self._end_placement("card replaced")
            if not self._present:
                await self._read_card()
            return
        if self._present and self.opts.presence != "find":
            there = await self._still_there()
            if there is None:
                return  # no clear answer: neither lifted nor confirmed; ask again next poll
            if there:
                self._misses = 0
                self._halted = True
                return
        self._misses += 1
        if self._misses >= self.opts.removal_misses:
            self._failure_reported = False
            self._end_placement(None)

    async def _still_there(self) -> bool | None:
        """Ask (without reading) whether the card read last still lies on the reader; None: unknown."""
        command = Command.SELECT if self.opts.presence == "select" else Command.READ_ADDRESS
        response = await self._request(SELECT if command == Command.SELECT else READ_ADDRESS, self.opts.reply_timeout)
        if response is None:
            return None
        try:
            return card_present(command, response)
        except SamCodecError:
            return None  # neither yes nor no (e.g. a busy SAM): not a lifted card either

    async def _read_card(self) -> None:
        selected = await self._request(SELECT, self.opts.reply_timeout)
        if selected is None:
            return
        if selected.sw3 != SamStatus.OK:
            self._read_failed(f"select: {describe(selected.sw3)}")
            return
        frame = READ_FINGERPRINT if self.opts.fingerprint else READ
        reply = await self._request(frame, self.opts.read_timeout, counts_silence=False)
        if reply is None:
            self._read_failed("no complete reply (timeout, truncated or corrupt frame)")
            return
        if reply.sw3 != SamStatus.OK:
            self._read_failed(f"read: {describe(reply.sw3)}")
            return
        try:
            card = parse_read_reply(reply, with_fingerprint=self.opts.fingerprint)
        except CardDataError as exc:
            self._read_failed(f"card data: {exc}")
            return
        self._placed(card)

    def _placed(self, card: IdCard) -> None:
        self._present = True
        self._failure_reported = False
        self.reads += 1
        log.info("reader %s: card placed (%s)", self.device_id, card.card_type.value)
        self._emit(CardEvent("placed", card))

    def _read_failed(self, detail: str) -> None:
        # Report a failing card once; the cycle keeps retrying while it lies there.
        if not self._failure_reported:
            self._failure_reported = True
            log.info("reader %s: card read failed: %s", self.device_id, detail)
            self._emit(CardEvent("read_failed", detail=detail))

    def _end_placement(self, detail: str | None) -> None:
        if self._present:
            self._present = False
            self._misses = 0
            self._halted = False
            log.info("reader %s: card removed%s", self.device_id, f" ({detail})" if detail else "")
            self._emit(CardEvent("removed", detail=detail))

    # --- request/response --------------------------------------------------------------------------

    async def _request(self, frame: bytes, timeout: float, counts_silence: bool = True) -> Response | None:
        """Send one request; None when no valid reply arrived in time (input is then discarded)."""
        async with self.exclusive() as transport:
            try:
                response = await self._transact(transport, frame, timeout)
            except TransportTimeout:
                await transport.discard_input(0.05)
                self._parser.reset()
                if counts_silence:
                    self._on_silence()
                return None
        self._silent = 0
        return response

    async def _transact(self, transport: Transport, frame: bytes, timeout: float) -> Response:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await transport.write(frame)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TransportTimeout(f"{self.device_id}: no complete reply within {timeout:g}s")
            frames = self._parser.feed(await transport.read(4096, timeout=remaining))
            if frames:
                if len(frames) > 1:  # late replies of earlier requests: the newest is ours
                    log.debug("reader %s: %d stale frames dropped", self.device_id, len(frames) - 1)
                return frames[-1]

    def _on_silence(self) -> None:
        self._silent += 1
        if self._silent >= self.opts.offline_after and self.health.state != DeviceState.OFFLINE:
            self._end_placement("reader offline")
            self.set_offline("reader does not answer", fault=NO_ANSWER)
