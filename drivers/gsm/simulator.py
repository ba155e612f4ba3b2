"""A simulated GSM modem: the AT dialogue of drivers/gsm/driver.py, PDUs decoded, reports sent back.

It answers ``AT``, ``ATE0/1``, ``AT+CMEE=n``, ``AT+CPIN?``/``AT+CPIN=<pin>``, ``AT+CMGF=0``,
``AT+CNMI=…``, ``AT+CREG?``, ``AT+CSQ``, ``AT+CSCA?`` and ``AT+CMGS=<n>`` (prompt ``> ``, then
the PDU up to Ctrl-Z, ESC cancels). Each accepted part is decoded (``sent``), concatenated
parts are joined in ``messages``, and when the part asked for one, a ``+CDS`` status report
follows after ``report_delay`` seconds (status 0: delivered). Every line both ways is in
``dialogue``.

Faults: ``no_sim`` (``+CME ERROR: 10``), ``no_network`` (``+CREG: 0,2``, ``+CSQ: 99,99``,
``+CMS ERROR: 331`` on send), ``send_failed`` (``+CMS ERROR: 500`` on send), ``pin``
(the SIM asks for a PIN), ``report_failed`` (reports say 0x41, incompatible destination).
Actions: ``report`` {reference, status} sends a status report now; ``signal`` {rssi}.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any, ClassVar

from drivers.gsm import codec, pdu
from drivers.simulator import StreamSimulator, serve_with_console


def _option(options: Any, name: str, default: Any) -> Any:
    if isinstance(options, dict):
        return options.get(name, default)
    return getattr(options, name, default)


class GsmSimulator(StreamSimulator):
    """Implements ``drivers.simulator.Simulator`` for the gsm_at driver."""

    faults: ClassVar[tuple[str, ...]] = ("no_sim", "no_network", "send_failed", "pin", "report_failed")

    def __init__(self, device_id: str, options: Any = None) -> None:
        super().__init__(device_id)
        self.pin: str = str(_option(options, "pin", None) or "1234")
        self.report_delay: float = float(_option(options, "report_delay", 0.05))
        self.rssi = 21
        self.echo = True  # modems power up with echo on (V.250 E1)
        self.pdu_mode = False
        self.report_mode = 0  # AT+CNMI <ds>
        self.pin_entered = False
        self.sent: list[pdu.DecodedSubmit] = []
        self.references: list[int] = []
        self.dialogue: list[str] = []
        self.reports_sent: list[str] = []
        self._mr = 0

    # --- Simulator protocol -------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What was sent, joined messages, modes and the fault."""
        return {
            "messages": self.messages(),
            "parts": len(self.sent),
            "pdu_mode": self.pdu_mode,
            "status_reports": self.report_mode,
            "rssi": self.rssi,
            "connected": bool(self._writers),
            "fault": self.fault,
        }

    def messages(self) -> list[dict[str, Any]]:
        """Sent messages, concatenated parts joined (in part order) once complete."""
        out: list[dict[str, Any]] = []
        groups: dict[tuple[str, int], list[pdu.DecodedSubmit]] = {}
        for part in self.sent:
            if part.parts == 1 or part.reference is None:
                out.append({"number": part.number, "text": part.text, "parts": 1, "dcs": part.dcs})
                continue
            group = groups.setdefault((part.number, part.reference), [])
            group.append(part)
            if len(group) == part.parts:
                text = "".join(p.text for p in sorted(group, key=lambda p: p.part))
                out.append({"number": part.number, "text": text, "parts": part.parts, "dcs": part.dcs})
        return out

    async def act(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """``report`` {reference, status, number?} or ``signal`` {rssi}."""
        if action == "report":
            number = str(params.get("number") or (self.sent[-1].number if self.sent else "+10"))
            line = self._report(int(params["reference"]), number, int(params.get("status", 0)))
            return {"sent": bool(self._writers), "pdu": line}
        if action == "signal":
            self.rssi = int(params["rssi"])
            return {"rssi": self.rssi}
        raise ValueError(f"unknown action {action!r}; known: report, signal")

    # --- bytes ----------------------------------------------------------------------------------

    def _write(self, writer: asyncio.StreamWriter, text: str) -> None:
        for line in text.replace("\r\n", "\n").split("\n"):
            if line.strip():
                self.dialogue.append(f"<< {line}")
        with contextlib.suppress(Exception):
            writer.write(text.encode("ascii"))

    def _reply(self, writer: asyncio.StreamWriter, *lines: str) -> None:
        self._write(writer, "".join(f"\r\n{line}\r\n" for line in lines))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one host connection: command lines, and a PDU after each prompt."""
        self._writers.add(writer)
        buf = bytearray()
        pending: int | None = None  # AT+CMGS=<n> waiting for its PDU
        try:
            while data := await reader.read(4096):
                buf += data
                while True:
                    if pending is not None:
                        end = min((i for i in (buf.find(codec.CTRL_Z), buf.find(codec.ESC)) if i >= 0), default=-1)
                        if end < 0:
                            break
                        body, terminator = bytes(buf[:end]), buf[end : end + 1]
                        del buf[: end + 1]
                        self.dialogue.append(f">> {body.decode('ascii', 'replace')}"
                                             f"{'<Ctrl-Z>' if terminator == codec.CTRL_Z else '<ESC>'}")  # fmt: skip
                        if terminator == codec.CTRL_Z:
                            await self._accept(writer, pending, body.decode("ascii", "replace").strip())
                        else:
                            self._reply(writer, "OK")
                        pending = None
                        continue
                    end = buf.find(codec.CR)
                    if end < 0:
                        break
                    line = bytes(buf[:end]).decode("ascii", "replace").strip()
                    del buf[: end + 1]
                    if not line:
                        continue
                    self.dialogue.append(f">> {line}")
                    if self.echo:
                        with contextlib.suppress(Exception):
                            writer.write(line.encode("ascii", "replace") + b"\r")
                    pending = self._command(writer, line)
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _sim_ready(self) -> bool:
        return self.fault != "no_sim" and (self.fault != "pin" or self.pin_entered)

    def _command(self, writer: asyncio.StreamWriter, line: str) -> int | None:
        upper = line.upper()
        if upper in ("AT", "ATZ"):
            self._reply(writer, "OK")
        elif upper in ("ATE0", "ATE1"):
            self.echo = upper == "ATE1"
            self._reply(writer, "OK")
        elif upper.startswith("AT+CMEE="):
            self._reply(writer, "OK")
        elif upper == "AT+CPIN?":
            if self.fault == "no_sim":
                self._reply(writer, "+CME ERROR: 10")
            elif self.fault == "pin" and not self.pin_entered:
                self._reply(writer, "+CPIN: SIM PIN", "OK")
            else:
                self._reply(writer, "+CPIN: READY", "OK")
        elif upper.startswith("AT+CPIN="):
            if line.split("=", 1)[1].strip('"') == self.pin and self.fault != "no_sim":
                self.pin_entered = True
                self._reply(writer, "OK")
            else:
                self._reply(writer, "+CME ERROR: 16")  # incorrect password
        elif upper.startswith("AT+CMGF="):
            self.pdu_mode = upper.endswith("=0")
            self._reply(writer, "OK")
        elif upper.startswith("AT+CNMI="):
            fields = upper.split("=", 1)[1].split(",")
            self.report_mode = int(fields[3]) if len(fields) > 3 and fields[3].isdigit() else 0
            self._reply(writer, "OK")
        elif upper == "AT+CREG?":
            stat = 2 if self.fault == "no_network" or not self._sim_ready() else 1
            self._reply(writer, f"+CREG: 0,{stat}", "OK")
        elif upper == "AT+CSQ":
            rssi = 99 if self.fault == "no_network" else self.rssi
            self._reply(writer, f"+CSQ: {rssi},99", "OK")
        elif upper == "AT+CSCA?":
            self._reply(writer, '+CSCA: "+8613800100500",145', "OK")
        elif upper.startswith("AT+CMGS="):
            value = upper.split("=", 1)[1]
            if not self.pdu_mode or not value.isdigit():
                self._reply(writer, "+CMS ERROR: 304")  # invalid PDU mode parameter
                return None
            self._write(writer, "\r\n> ")
            return int(value)
        else:
            self._reply(writer, "ERROR")
        return None

    async def _accept(self, writer: asyncio.StreamWriter, length: int, body: str) -> None:
        """A PDU after the prompt: decode, check its length, answer +CMGS or +CMS ERROR."""
        if not self._sim_ready():
            self._reply(writer, "+CMS ERROR: 310")
            return
        if self.fault == "no_network":
            self._reply(writer, "+CMS ERROR: 331")
            return
        try:
            part = pdu.decode_submit(body)
        except pdu.PduError:
            self._reply(writer, "+CMS ERROR: 304")
            return
        if part.tpdu_length != length:
            self._reply(writer, "+CMS ERROR: 304")  # the <length> does not match the TPDU
            return
        if self.fault == "send_failed":
            self._reply(writer, f"+CMS ERROR: {codec.CMS_UNKNOWN_ERROR}")
            return
        self._mr = (self._mr + 1) % 256
        self.sent.append(part)
        self.references.append(self._mr)
        self._reply(writer, f"+CMGS: {self._mr}", "OK")
        async with self.changed:
            self.changed.notify_all()
        if part.status_report and self.report_mode == 1:
            status = 0x41 if self.fault == "report_failed" else 0x00
            task = asyncio.create_task(self._later(self._mr, part.number, status))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _later(self, reference: int, number: str, status: int) -> None:
        await asyncio.sleep(self.report_delay)
        self._report(reference, number, status)

    def _report(self, reference: int, number: str, status: int) -> str:
        now = datetime.now(UTC).replace(microsecond=0)
        hex_pdu = pdu.encode_status_report(reference, number, status, now, now, smsc="+8613800100500")
        self.reports_sent.append(hex_pdu)
        for writer in list(self._writers):
            self._write(writer, f"\r\n+CDS: {pdu.status_report_length(hex_pdu)}\r\n{hex_pdu}\r\n")
        return hex_pdu


# --- command line: python -m drivers.gsm.simulator --listen 127.0.0.1:9400 ------------------------

HELP = "commands: state | report REF [STATUS] | signal RSSI | fault NAME|none | dialogue | quit"


async def _console(sim: GsmSimulator, lines: Any, out: Any) -> None:
    """Read control commands (one per line) until EOF or ``quit``."""
    import json

    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, lines.readline)
        words = line.split()
        if not line or words[:1] == ["quit"]:
            return
        try:
            if words[:1] == ["report"] and len(words) >= 2:
                status = words[2] if len(words) > 2 else 0
                result: Any = await sim.act("report", {"reference": words[1], "status": status})
            elif words[:1] == ["signal"] and len(words) == 2:
                result = await sim.act("signal", {"rssi": words[1]})
            elif words[:1] == ["fault"] and len(words) == 2:
                sim.inject(None if words[1] == "none" else words[1])
                result = sim.state()
            elif words[:1] == ["dialogue"]:
                result = sim.dialogue[-40:]
            else:
                result = sim.state() if words[:1] == ["state"] else HELP
        except (ValueError, KeyError) as exc:
            result = f"error: {exc}"
        print(json.dumps(result, ensure_ascii=False), file=out, flush=True)


async def _main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m drivers.gsm.simulator", description=__doc__, epilog=HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT, or pty")
    args = parser.parse_args(argv)
    await serve_with_console(GsmSimulator("sim-gsm", {}), args.listen, "gsm_at", HELP, _console)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
