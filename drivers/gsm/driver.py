"""GSM modem driver (短信猫): sends SMS in PDU mode over AT commands, reads delivery reports.

On connect: ``ATE0`` (no echo), ``AT+CMEE=1`` (numeric errors), ``AT+CPIN?`` (SIM; the PIN
from the options when asked), ``AT+CMGF=0`` (PDU mode), ``AT+CNMI=2,1,0,1,0`` (status
reports routed to us as ``+CDS``), then the health check: ``AT+CREG?`` and ``AT+CSQ``, again
every ``health_interval`` seconds. Faults: ``no_sim``, ``sim_pin`` (a PIN is needed and none
is configured or it was refused), ``no_network``; a message the modem or network refuses is
``send_failed`` in the :class:`SmsResult` (the device stays ready). Every line sent and
received is kept in ``dialogue`` (the last few hundred) for support and the closing notes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar

from pydantic import Field

from drivers.base import ConnectedDevice
from drivers.errors import DeviceFault, ProtocolError, TransportError, TransportTimeout
from drivers.events import EventFanout
from drivers.gsm import codec, pdu
from drivers.health import DeviceState
from drivers.transport import SerialOptions, Transport

log = logging.getLogger("hallq.devices.gsm")

NO_SIM = "no_sim"
SIM_PIN = "sim_pin"
NO_NETWORK = "no_network"
SEND_FAILED = "send_failed"
FAULTS = (NO_SIM, SIM_PIN, NO_NETWORK, SEND_FAILED)


class GsmOptions(SerialOptions):
    """Serial framing (most modems: 115200 8N1) plus SMS settings."""

    baudrate: int = 115200
    pin: str | None = Field(default=None, pattern=r"^[0-9]{4,8}$")
    smsc: str | None = Field(default=None, pattern=r"^\+?[0-9]{3,20}$")  # None: the SIM's (AT+CSCA)
    status_reports: bool = True
    validity_minutes: int = Field(default=24 * 60, ge=5, le=63 * 7 * 24 * 60)
    command_timeout: float = Field(default=5.0, gt=0)
    send_timeout: float = Field(default=60.0, gt=0)  # the network can take many seconds per part
    health_interval: float = Field(default=30.0, gt=0)
    trace: bool = False


@dataclass(frozen=True)
class SmsResult:
    """Whether every part of a message was accepted by the network, with the references to match reports."""

    sent: bool
    references: tuple[int, ...] = ()
    parts: int = 0
    fault: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """A delivery report (``+CDS``) for one sent part."""

    reference: int
    recipient: str
    status: int
    outcome: str  # delivered | pending | failed
    at: float


class GsmModem(ConnectedDevice):
    """A GSM modem on a serial port (or its simulator on socket://)."""

    kind: ClassVar[str] = "sms_modem"
    name: ClassVar[str] = "gsm_at"
    Options: ClassVar[type[GsmOptions]] = GsmOptions
    options: GsmOptions

    def __init__(self, device_id: str, url: str, options: GsmOptions | dict[str, object] | None = None) -> None:
        super().__init__(device_id, url, options)
        self.connect_timeout = self.options.command_timeout
        self.dialogue: deque[str] = deque(maxlen=400)
        self.signal: codec.Signal | None = None
        self.registration: codec.Registration | None = None
        self._reports: EventFanout[DeliveryReport] = EventFanout(f"{device_id} reports", maxsize=500)
        self._reader: asyncio.Task[None] | None = None
        self._answers: asyncio.Queue[codec.Final | codec.Prompt] = asyncio.Queue()
        self._command_lock = asyncio.Lock()
        self._concat_ref = random.randrange(256)

    # --- public API -------------------------------------------------------------------------

    def reports(self) -> AsyncIterator[DeliveryReport]:
        """Delivery reports as they arrive (each call is an independent subscriber)."""
        return self._reports.subscribe()

    async def send_sms(self, number: str, text: str) -> SmsResult:
        """Send ``text`` (split and concatenated when long) to ``number``; never raises for a refusal."""
        blocking = set(self.health.faults) & {NO_SIM, SIM_PIN, NO_NETWORK}
        if blocking:
            return SmsResult(False, fault=sorted(blocking)[0], detail=self.health.detail)
        if self.health.state not in (DeviceState.READY, DeviceState.BUSY):
            return SmsResult(False, fault="disconnected", detail=self.health.detail)
        self._concat_ref = (self._concat_ref + 1) % 256
        try:
            parts = pdu.submit_pdus(number, text, reference=self._concat_ref,
                                    status_report=self.options.status_reports,
                                    validity_minutes=self.options.validity_minutes, smsc=self.options.smsc)  # fmt: skip
        except pdu.PduError as exc:
            return SmsResult(False, fault=SEND_FAILED, detail=str(exc))
        references: list[int] = []
        for part in parts:
            try:
                final = await self._submit(part)
            except (TransportError, ProtocolError) as exc:
                return SmsResult(False, tuple(references), len(parts), SEND_FAILED, str(exc))
            if not final.ok:
                fault = self._fault_of(final)
                if fault in (NO_SIM, NO_NETWORK):
                    self.set_fault(fault, detail=_describe(final))
                return SmsResult(False, tuple(references), len(parts), fault, _describe(final))
            try:
                references.append(codec.parse_cmgs(final))
            except codec.AtError as exc:
                return SmsResult(False, tuple(references), len(parts), SEND_FAILED, str(exc))
        return SmsResult(True, tuple(references), len(parts))

    async def refresh(self) -> None:
        """Ask for registration and signal now and update the health."""
        async with self.exclusive(self.options.command_timeout):
            await self._check_health()

    # --- the AT dialogue ----------------------------------------------------------------------

    async def _submit(self, part: pdu.SubmitPdu) -> codec.Final:
        async with self._command_lock:
            transport = self._require()
            self._drain_answers()
            await self._write(transport, codec.command(f"AT+CMGS={part.tpdu_length}"))
            answer = await self._answer(self.options.command_timeout)
            if not isinstance(answer, codec.Prompt):
                return answer
            await self._write(transport, codec.pdu_body(part.hex))
            try:
                answer = await self._answer(self.options.send_timeout)
            except TransportTimeout:
                await self._write(transport, codec.ESC)  # abandon the message; the modem returns to command mode
                raise
            if isinstance(answer, codec.Prompt):
                raise ProtocolError("a second prompt after the PDU")
            return answer

    async def command(self, line: str, timeout: float | None = None) -> codec.Final:
        """Send one command line and wait for its final result code."""
        async with self._command_lock:
            transport = self._require()
            self._drain_answers()
            await self._write(transport, codec.command(line))
            answer = await self._answer(timeout or self.options.command_timeout)
            if isinstance(answer, codec.Prompt):
                await self._write(transport, codec.ESC)
                raise ProtocolError(f"{line}: unexpected prompt")
            return answer

    def _require(self) -> Transport:
        if self._transport is None or self._reader is None or self._reader.done():
            raise TransportError(f"{self.device_id}: not connected")
        return self._transport

    def _drain_answers(self) -> None:
        while not self._answers.empty():  # a late answer to a command that timed out
            self._answers.get_nowait()

    async def _write(self, transport: Transport, data: bytes) -> None:
        self._log(">>", data)
        await transport.write(data)

    async def _answer(self, timeout: float) -> codec.Final | codec.Prompt:
        try:
            return await asyncio.wait_for(self._answers.get(), timeout)
        except TimeoutError:
            raise TransportTimeout(f"{self.device_id}: no answer within {timeout:g}s") from None

    def _log(self, direction: str, data: bytes) -> None:
        text = data.decode("ascii", errors="replace").replace("\x1a", "<Ctrl-Z>").replace("\x1b", "<ESC>")
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            if line:
                self.dialogue.append(f"{direction} {line}")

    async def _read_loop(self, transport: Transport) -> None:
        parser = codec.AtParser()
        try:
            while True:
                try:
                    chunk = await transport.read(4096, timeout=3600)
                except TransportTimeout:
                    continue
                self._log("<<", chunk)
                dropped = parser.dropped
                for item in parser.feed(chunk):
                    if isinstance(item, codec.Unsolicited):
                        self._unsolicited(item)
                    else:
                        self._answers.put_nowait(item)
                if parser.dropped > dropped:
                    self.tracker.count("dropped_lines", parser.dropped - dropped)
        except TransportError as exc:
            log.info("%s: link lost: %s", self.device_id, exc)
            self.link_lost()

    def _unsolicited(self, item: codec.Unsolicited) -> None:
        if item.name == "+CDS" and item.pdu:
            try:
                report = pdu.decode_status_report(item.pdu)
            except pdu.PduError as exc:
                self.tracker.count("bad_reports")
                log.warning("%s: undecodable status report %s: %s", self.device_id, item.pdu, exc)
                return
            self._reports.publish(DeliveryReport(report.reference, report.recipient, report.status,
                                                 report.outcome, time.time()))  # fmt: skip
            # TS 27.005 §3.4.1: with +CSMS service 1 the TE must acknowledge with +CNMA;
            # service 0 (the default these modems ship with) needs no acknowledgement.
        elif item.name == "+CREG":
            with contextlib.suppress(ValueError):
                self.registration = codec.Registration(int(item.value.split(",")[0]))

    # --- supervision hooks ----------------------------------------------------------------------

    async def on_connect(self, transport: Transport) -> None:
        """Start the reader, set the modem up, check SIM, network and signal."""
        self._answers = asyncio.Queue()
        self._reader = asyncio.create_task(self._read_loop(transport), name=f"gsm-reader-{self.device_id}")
        try:
            await self._setup()
        except BaseException:
            self._reader.cancel()
            raise

    async def _setup(self) -> None:
        timeout = self.options.command_timeout
        await self.command("ATE0", timeout)  # the first answer may still carry the echo; the parser drops it
        await self.command("AT+CMEE=1", timeout)
        cpin = await self.command("AT+CPIN?", timeout)
        if not cpin.ok:
            if cpin.error in codec.SIM_ERRORS or cpin.error is None:
                raise DeviceFault(NO_SIM, f"SIM: {_describe(cpin)}")
            raise DeviceFault(NO_SIM, f"SIM: {_describe(cpin)}")
        state = codec.parse_cpin(cpin)
        if state == "SIM PIN":
            if not self.options.pin:
                raise DeviceFault(SIM_PIN, "the SIM asks for a PIN and none is configured")
            entered = await self.command(f"AT+CPIN={self.options.pin}", timeout)
            if not entered.ok:
                raise DeviceFault(SIM_PIN, f"PIN refused: {_describe(entered)}")
        elif state != "READY":
            raise DeviceFault(SIM_PIN, f"SIM is {state}")
        for line in ("AT+CMGF=0", "AT+CNMI=2,1,0,1,0" if self.options.status_reports else "AT+CNMI=2,1,0,0,0"):
            final = await self.command(line, timeout)
            if not final.ok:
                raise ProtocolError(f"{line}: {_describe(final)}")
        await self._check_health()

    async def _check_health(self) -> None:
        creg = await self.command("AT+CREG?")
        csq = await self.command("AT+CSQ")
        try:
            self.registration = codec.parse_creg(creg) if creg.ok else None
            self.signal = codec.parse_csq(csq) if csq.ok else None
        except codec.AtError as exc:
            raise ProtocolError(str(exc)) from None
        self.tracker.counters["signal_rssi"] = self.signal.rssi if self.signal else 99
        if self.registration is None or not self.registration.registered:
            label = self.registration.label if self.registration else _describe(creg)
            self.set_fault(NO_NETWORK, detail=f"network: {label}; {self._signal_text()}")
        else:
            self.tracker.set(DeviceState.READY, (), f"network: {self.registration.label}; {self._signal_text()}")
            self.tracker.count("health_checks")

    def _signal_text(self) -> str:
        if self.signal is None or self.signal.dbm is None:
            return "signal unknown"
        return f"signal {self.signal.dbm} dBm (rssi {self.signal.rssi})"

    async def run(self, transport: Transport) -> None:
        """Check network and signal every ``health_interval`` until the link is lost."""
        reader = self._reader
        try:
            while not self._lost.is_set() and reader is not None and not reader.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), self.options.health_interval)
                if self._lost.is_set() or reader.done():
                    break
                try:
                    await self._check_health()
                except TransportTimeout:
                    self.set_offline("the modem stopped answering")
                    break
        finally:
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
            self._reader = None

    def _fault_of(self, final: codec.Final) -> str:
        if final.error in (codec.CMS_SIM_NOT_INSERTED, codec.CME_SIM_NOT_INSERTED):
            return NO_SIM
        if final.error in (codec.CMS_NO_NETWORK, codec.CMS_NETWORK_TIMEOUT):
            return NO_NETWORK
        return SEND_FAILED


def _describe(final: codec.Final) -> str:
    if final.error is not None:
        return f"{final.code}: {final.error}"
    return f"{final.code}: {final.detail}" if final.detail else final.code
