"""A SAM ID-card reader simulator speaking the real frames over TCP or a pty.

It holds one card (or none), answers every command of the protocol page, delivers
long replies in chunks like real readers do, and injects faults::

    bad_checksum       the card-read reply carries a wrong checksum
    read_failure       reads answer 41 (read failed)
    self_test_failure  status answers 60 (SAM self-test failed)
    truncated          the card-read reply stops half-way
    silence            nothing is answered at all
    garbage            every reply is preceded by junk bytes

Reader models (option ``model``)::

    standard           FIND answers 9F for as long as a card lies there (the default)
    halt_after_read    after a successful read FIND answers 80 while the card still lies
                       there, until it is lifted (and placed again); SELECT answers 90 and
                       READ_ADDRESS 91 while it is there, 81 / 41 once it is gone

Standalone: ``python -m drivers.idcard.simulator --listen 127.0.0.1:9200`` then type
``place elderly``, ``remove``, ``fault silence``, ``fault none``, ``state`` on stdin.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
from collections import Counter
from typing import Any

from drivers.idcard.card import CODE_OF_TYPE, CardType, IdCard
from drivers.idcard.codec import (
    Command,
    Request,
    RequestParser,
    SamChecksumError,
    SamStatus,
    build_response,
)
from drivers.idcard.layout import LAYOUTS, PERMANENT, PHOTO_LEN, TEXT_LEN, TYPE_OFFSET, write_field
from drivers.idcard.samples import SAMPLES, card_from_dict
from drivers.simulator import PtyEndpoint, serve_pty, serve_tcp, serve_with_console

log = logging.getLogger("hallq.sim.idcard")

SAM_SERIAL = bytes.fromhex("0501000000000000000000000000a1b2")
SELECT_DATA = bytes(8)
FIND_DATA = bytes(4)
MODELS = ("standard", "halt_after_read")
GARBAGE = b"\x00\xff\xaa\xaa\x13\x37\xaa\xaa\xaa\x96\x69\xff\xff"  # includes a false preamble


def encode_text(card: IdCard) -> bytes:
    """The 256-byte UCS-2 text block of ``card`` (the reader's side of ``parse_text``)."""
    if card.card_type == CardType.UNKNOWN:
        block = bytearray(" ".ljust(TEXT_LEN // 2).encode("utf-16-le"))
        block[TYPE_OFFSET : TYPE_OFFSET + 2] = "Z".encode("utf-16-le")
        return bytes(block)
    code = CODE_OF_TYPE[card.card_type]
    layout = LAYOUTS[code]
    block = bytearray(" ".ljust(TEXT_LEN // 2).encode("utf-16-le"))
    english = card.english_name
    values = {
        "name": card.name,
        "gender": card.gender,
        "nation": card.nation,
        "birth": f"{card.birth_date:%Y%m%d}" if card.birth_date else "",
        "address": card.address,
        "number": card.id_number,
        "authority": card.authority,
        "valid_from": f"{card.valid_from:%Y%m%d}" if card.valid_from else "",
        "valid_to": PERMANENT if card.permanent else (f"{card.valid_to:%Y%m%d}" if card.valid_to else ""),
        "nationality": card.nationality,
        "pass_number": card.pass_number,
        "issue_count": card.issue_count,
        "type": code,
    }
    if "english_name_more" in layout:
        room = layout["english_name"].chars
        values["english_name"], values["english_name_more"] = english[:room], english[room:]
    else:
        values["english_name"] = english
    for name, field in layout.items():
        write_field(block, field, values.get(name, ""))
    return bytes(block)


def encode_read_data(card: IdCard, fingerprint: bool = False) -> bytes:
    """The data part of a 30 01 (or 30 10) reply: lengths, text, photo (and fingerprint)."""
    photo = card.photo.ljust(PHOTO_LEN, b"\x00")[:PHOTO_LEN]
    head = TEXT_LEN.to_bytes(2, "big") + PHOTO_LEN.to_bytes(2, "big")
    if fingerprint:
        head += len(card.fingerprint).to_bytes(2, "big")
        return head + encode_text(card) + photo + card.fingerprint
    return head + encode_text(card) + photo


class SamSimulator:
    """A simulated SAM reader; implements ``drivers.simulator.Simulator``."""

    faults: tuple[str, ...] = ("bad_checksum", "read_failure", "self_test_failure", "truncated", "silence", "garbage")

    def __init__(self, device_id: str = "idcard-sim", options: Any = None) -> None:
        opts = _as_dict(options)
        self.device_id = device_id
        self.chunks = int(opts.get("chunks", 3))
        self.chunk_delay = float(opts.get("chunk_delay", 0.005))
        self.model = str(opts.get("model", "standard"))
        if self.model not in MODELS:
            raise ValueError(f"unknown reader model {self.model!r}; known: {', '.join(MODELS)}")
        self._halted = False  # halt_after_read: the card on the reader was read and is silent to FIND
        self.card: IdCard | None = None
        self.card_label: str | None = None
        self.fault: str | None = None
        self.requests: Counter[str] = Counter()
        self._found = False
        self._selected = False
        self._servers: list[asyncio.Server] = []
        self._ptys: list[PtyEndpoint] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        if opts.get("card"):
            self._place(opts["card"])

    # --- Simulator protocol ---------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on TCP; returns the ``socket://`` URL."""
        server, url = await serve_tcp(self.handle, host, port)
        self._servers.append(server)
        return url

    async def start_pty(self) -> str:
        """Serve on a new pty; returns the slave path for the driver."""
        endpoint = await serve_pty(self.handle)
        self._ptys.append(endpoint)
        return endpoint.path

    async def stop(self) -> None:
        """Stop every server, pty and open connection."""
        for endpoint in self._ptys:
            await endpoint.close()
        for server in self._servers:
            server.close()
        for writer in list(self._writers):
            writer.close()
        # TCP handlers end on their own once their stream is closed; cancelling a
        # client_connected_cb task makes asyncio (3.11) log a spurious error.
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        self._servers.clear()
        self._ptys.clear()

    def state(self) -> dict[str, Any]:
        """The current card (masked only) and fault."""
        card = self.card
        return {
            "device_id": self.device_id,
            "card": None
            if card is None
            else {
                "sample": self.card_label,
                "card_type": card.card_type.value,
                "masked_id": card.masked_id,
                "masked_name": card.masked_name,
            },
            "fault": self.fault,
            "faults": list(self.faults),
            "model": self.model,
            "halted": self._halted,
            "requests": dict(self.requests),
        }

    def inject(self, fault: str | None) -> None:
        """Set (or clear with None) the fault."""
        if fault is not None and fault not in self.faults:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(self.faults)}")
        self.fault = fault

    async def act(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """``place_card`` {card: sample name | fields}, ``remove_card``, ``inject`` {fault}."""
        if action == "place_card":
            self._place(params.get("card", "young"))
        elif action == "remove_card":
            self.card, self.card_label = None, None
            self._found = self._selected = self._halted = False
        elif action == "inject":
            self.inject(params.get("fault"))
        else:
            raise ValueError(f"unknown action {action!r}; known: place_card, remove_card, inject")
        return self.state()

    def _place(self, spec: Any) -> None:
        if isinstance(spec, IdCard):
            self.card, self.card_label = spec, "custom"
        elif isinstance(spec, str):
            if spec not in SAMPLES:
                raise ValueError(f"unknown sample card {spec!r}; known: {', '.join(SAMPLES)}")
            self.card, self.card_label = SAMPLES[spec], spec
        elif isinstance(spec, dict):
            self.card, self.card_label = card_from_dict(spec), str(spec.get("sample", "custom"))
        else:
            raise ValueError("card must be a sample name or a dict of fields")
        self._found = self._selected = self._halted = False

    # --- the byte protocol -----------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection until it closes."""
        parser = RequestParser()
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    return
                bad_before = parser.bad_frames
                requests = parser.feed(data)
                if parser.bad_frames > bad_before and any(isinstance(e, SamChecksumError) for e in parser.errors):
                    parser.errors.clear()
                    await self._send(writer, build_response(SamStatus.CHECKSUM_ERROR))
                for request in requests:
                    reply = self.reply(request)
                    if reply:
                        await self._send(writer, reply)
        except (ConnectionError, OSError, RuntimeError):
            return
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _send(self, writer: asyncio.StreamWriter, frame: bytes) -> None:
        if self.fault == "silence":
            return
        if self.fault == "garbage":
            frame = GARBAGE + frame
        if len(frame) > 64 and self.chunks > 1:
            size = -(-len(frame) // self.chunks)
            for i in range(0, len(frame), size):
                writer.write(frame[i : i + size])
                await writer.drain()
                await asyncio.sleep(self.chunk_delay)
        else:
            writer.write(frame)
            await writer.drain()

    def reply(self, request: Request) -> bytes | None:
        """The reply frame for one request (None: no answer)."""
        command = request.command
        self.requests[command.name.lower() if command else "unknown"] += 1
        if command is None:
            return build_response(SamStatus.BAD_COMMAND)
        if command in (Command.STATUS, Command.RESET):
            failed = self.fault == "self_test_failure"
            return build_response(SamStatus.SELF_TEST_FAILED if failed else SamStatus.OK)
        if command == Command.SAM_ID:
            return build_response(SamStatus.OK, SAM_SERIAL)
        if command == Command.FIND:
            self._found = self.card is not None and not self._halted
            self._selected = False
            return build_response(SamStatus.CARD_FOUND, FIND_DATA) if self._found else build_response(
                SamStatus.FIND_FAILED
            )
        if command == Command.SELECT:
            # a halted card is still in the field: it answers a select (not a find)
            self._selected = (self._found or self._halted) and self.card is not None
            return build_response(SamStatus.OK, SELECT_DATA) if self._selected else build_response(
                SamStatus.SELECT_FAILED
            )
        if command in (Command.READ, Command.READ_FINGERPRINT):
            return self._read_reply(fingerprint=command == Command.READ_FINGERPRINT)
        if command == Command.READ_ADDRESS:
            return build_response(SamStatus.ITEM_ABSENT if self.card is not None else SamStatus.READ_FAILED)
        if command in (Command.SET_BAUD, Command.SET_RF_FRAME):
            return build_response(SamStatus.OK)
        return build_response(SamStatus.BAD_COMMAND)

    def _read_reply(self, fingerprint: bool) -> bytes:
        # A card must be found and selected again before each read.
        card, selected = self.card, self._selected
        self._found = self._selected = False
        if card is None or not selected or self.fault == "read_failure":
            return build_response(SamStatus.READ_FAILED)
        frame = build_response(SamStatus.OK, encode_read_data(card, fingerprint))
        self._halted = self.model == "halt_after_read"
        if self.fault == "bad_checksum":
            return frame[:-1] + bytes([frame[-1] ^ 0x5A])
        if self.fault == "truncated":
            return frame[: len(frame) // 2]
        return frame


def _as_dict(options: Any) -> dict[str, Any]:
    if options is None:
        return {}
    if isinstance(options, dict):
        return options
    dump = getattr(options, "model_dump", None)
    return dict(dump()) if callable(dump) else {}


# --- command line: python -m drivers.idcard.simulator --listen 127.0.0.1:9200 [--card elderly] ---------

HELP = "commands: place <sample>|remove|fault <name>|fault none|state|quit; samples: " + ", ".join(SAMPLES)


async def _console(sim: SamSimulator, lines: Any, out: Any) -> None:
    """Read control commands (one per line) until EOF or ``quit``."""
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, lines.readline)
        if not line or line.strip() == "quit":
            return
        word, _, arg = line.strip().partition(" ")
        try:
            if word == "place":
                result: Any = await sim.act("place_card", {"card": arg.strip() or "young"})
            elif word == "remove":
                result = await sim.act("remove_card", {})
            elif word == "fault":
                sim.inject(None if arg.strip() in ("", "none") else arg.strip())
                result = sim.state()
            elif word == "state":
                result = sim.state()
            else:
                result = HELP
        except ValueError as exc:
            result = f"error: {exc}"
        print(json.dumps(result, ensure_ascii=False), file=out, flush=True)


async def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m drivers.idcard.simulator", description=__doc__, epilog=HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT, or pty")
    parser.add_argument("--card", help="sample card lying on the reader at start")
    args = parser.parse_args(argv)
    sim = SamSimulator("sim-idcard", {"card": args.card} if args.card else None)
    await serve_with_console(sim, args.listen, "sam", HELP, _console)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
