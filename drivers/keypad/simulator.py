"""A simulated FF 68 keypad bus: press any key on any address, see what every keypad shows.

One simulator is the whole bus (all callers and evaluators of a hall). Actions:
``press`` {address, key} (call_next, recall, rate, pause, transfer, no_show, suspend,
callback, cancel), ``enter`` {address, digits} (digits typed, then OK: ``"10"`` sends
``01 00 0F``), ``raw`` {address, data} (any key frame, DATA in hex, e.g. a vendor's own
key code) and ``rate`` {address, value} (raw evaluator key index 0..n-1). A press the
host refuses is answered with a beep instead of the ACK (``beeps`` counts them).
Options (dict or the driver's options): ``repeat_unacked`` (re-send a press until the
host acknowledges it, as we infer keypads do), ``repeat_interval``, ``max_repeats``.
Faults: ``silence`` (drops every host frame: no display updates, no ACKs seen) and
``garbage`` (random bytes around every frame sent to the host).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

from drivers.keypad import codec
from drivers.simulator import StreamSimulator, serve_with_console


def _option(options: Any, name: str, default: Any) -> Any:
    if isinstance(options, dict):
        return options.get(name, default)
    return getattr(options, name, default)


def _digits_text(data: bytes) -> str:
    return "".join(" " if d == codec.BLANK else str(d) if d < 10 else "?" for d in data)


class Ff68Simulator(StreamSimulator):
    """Implements ``drivers.simulator.Simulator`` for the ff68 driver."""

    faults: ClassVar[tuple[str, ...]] = ("silence", "garbage")

    def __init__(self, device_id: str, options: Any = None) -> None:
        super().__init__(device_id)
        self.dialect = codec.DIALECTS[_option(options, "dialect", "ff68")]
        self.repeat_unacked: bool = bool(_option(options, "repeat_unacked", False))
        self.repeat_interval: float = float(_option(options, "repeat_interval", 0.3))
        self.max_repeats: int = int(_option(options, "max_repeats", 3))
        self.displays: dict[int, str] = {}
        self.waiting: dict[int, str] = {}
        self.stars: dict[int, int] = {}
        self.beeps: Counter[int] = Counter()
        self.evaluating: set[int] = set()
        self.acks = 0
        self.host_frames = 0
        self.sent = 0
        self.unacked: list[bytes] = []
        self.refused: list[bytes] = []  # presses the host answered with the error beep
        # called with each host frame as it is applied (timestamps in the benchmark)
        self.observers: list[Callable[[codec.KeypadFrame], None]] = []

    # --- Simulator protocol ---------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What each keypad shows, who is evaluating, ACK bookkeeping."""
        return {
            "displays": dict(sorted(self.displays.items())),
            "waiting": dict(sorted(self.waiting.items())),
            "stars": dict(self.stars),
            "beeps": dict(self.beeps),
            "evaluating": sorted(self.evaluating),
            "acks": self.acks,
            "unacked": [f.hex(" ") for f in self.unacked],
            "host_frames": self.host_frames,
            "sent": self.sent,
            "connected": bool(self._writers),
            "fault": self.fault,
        }

    def inject(self, fault: str | None) -> None:
        """Set or clear (None) a fault; ``garbage`` also sends a burst of noise at once."""
        super().inject(fault)
        if fault == "garbage":
            self._write_all(os.urandom(32).replace(b"\x68", b"\x00"))

    async def act(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """``press`` {address, key}, ``enter`` {address, digits}, ``raw`` {address, data} or ``rate``
        {address, value}; waits briefly for the ACK."""
        address = int(params["address"])
        if action == "press":
            frame = codec.key_frame(address, str(params["key"]), self.dialect)
        elif action == "enter":
            frame = codec.entry_frame(address, str(params["digits"]), self.dialect)
        elif action == "raw":
            frame = codec.encode(address, self.dialect.func_key, bytes.fromhex(str(params["data"])), self.dialect)
        elif action == "rate":
            frame = codec.rating_frame(address, int(params["value"]), self.dialect)
            self.evaluating.discard(address)
        else:
            raise ValueError(f"unknown action {action!r}; known: press, enter, raw, rate")
        if not self._writers:
            return {"sent": False, "acked": False, "frame": frame.hex(" "), "detail": "no host connected"}
        self.unacked.append(frame)
        self._send(frame)
        if self.repeat_unacked:
            task = asyncio.create_task(self._repeat(frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        answered = await self.wait_for(lambda s: frame not in s.unacked, float(params.get("wait", 0.5)))
        refused = answered and frame in self.refused
        if refused:
            self.refused.remove(frame)
        return {"sent": True, "acked": answered and not refused, "frame": frame.hex(" "), "refused": refused}

    # --- bytes ---------------------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        """Put raw bytes on the bus (a damaged frame, noise) as a keypad would."""
        self._write_all(data)

    def _write_all(self, data: bytes) -> None:
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.write(data)

    def _send(self, frame: bytes) -> None:
        self.sent += 1
        if self.fault == "garbage":
            noise = os.urandom(8).replace(b"\x16", b"\x00")
            # noise, the frame, then a truncated copy: the host must resync on all of it
            frame = noise + frame + frame[:5]
        self._write_all(frame)

    async def _repeat(self, frame: bytes) -> None:
        for _ in range(self.max_repeats):
            await asyncio.sleep(self.repeat_interval)
            if frame not in self.unacked:
                return
            self._send(frame)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one host connection."""
        parser = codec.KeypadParser(self.dialect, inbound=False)
        self._writers.add(writer)
        async with self.changed:
            self.changed.notify_all()
        try:
            while data := await reader.read(4096):
                if self.fault == "silence":
                    continue
                for frame in parser.feed(data):
                    await self._apply(frame)
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _match_ack(self, frame: codec.KeypadFrame) -> bool:
        d = self.dialect
        for pending in self.unacked:
            sent = codec.KeypadParser(d, inbound=False).feed(pending)[0]
            if sent.func == d.func_evaluator:
                matched = (frame.address, frame.func, frame.data) == (sent.address, d.func_ack, sent.data)
            else:
                matched = (frame.address, frame.func, frame.data) == (sent.address, sent.func, sent.data)
            if matched:
                self.unacked.remove(pending)
                self.acks += 1
                return True
        return False

    async def _apply(self, frame: codec.KeypadFrame) -> None:
        self.host_frames += 1
        for observer in self.observers:
            observer(frame)
        d = self.dialect
        if not self._match_ack(frame):
            if frame.func == d.func_display and len(frame.data) == 6:
                self.waiting[frame.address] = _digits_text(frame.data[:3])
                self.displays[frame.address] = _digits_text(frame.data[3:])
            elif frame.func == d.func_stars and len(frame.data) == 1:
                self.stars[frame.address] = frame.data[0]
            elif frame.func == d.func_beep:
                self.beeps[frame.address] += 1
                # a beep is the host's answer to a press it refuses: that press is answered
                pending = next((p for p in self.unacked if p[5] == frame.address), None)
                if pending is not None:
                    self.unacked.remove(pending)
                    self.refused.append(pending)
            elif frame.func == d.func_evaluate and frame.data == bytes((d.evaluate_code,)):
                self.evaluating.add(frame.address)
        async with self.changed:
            self.changed.notify_all()


# --- command line: python -m drivers.keypad.simulator --listen 127.0.0.1:9300 -------------------

HELP = (
    "commands: press ADDR KEY | enter ADDR DIGITS | raw ADDR HEX | rate ADDR VALUE | state | quit; "
    "keys: call_next recall rate pause transfer no_show suspend callback cancel"
)


def _command(line: str) -> tuple[str, dict[str, Any]] | None:
    """``press 1 call_next`` -> ("press", {...}); None for state/help."""
    words = line.split()
    if len(words) != 3 or words[0] not in ("press", "enter", "raw", "rate"):
        return None
    field = {"press": "key", "enter": "digits", "raw": "data", "rate": "value"}[words[0]]
    return words[0], {"address": int(words[1]), field: words[2], "wait": 1.0}


async def _console(sim: Ff68Simulator, lines: Any, out: Any) -> None:
    """Read control commands (one per line) until EOF or ``quit``."""
    import json

    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, lines.readline)
        if not line or line.strip() == "quit":
            return
        try:
            command = _command(line.strip())
            if command is not None:
                result: Any = await sim.act(*command)
            else:
                result = sim.state() if line.strip() == "state" else HELP
        except (ValueError, KeyError) as exc:
            result = f"error: {exc}"
        print(json.dumps(result, ensure_ascii=False), file=out, flush=True)


async def _main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m drivers.keypad.simulator", description=__doc__, epilog=HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT, or pty")
    args = parser.parse_args(argv)
    sim = Ff68Simulator("sim-keypads", {})
    await serve_with_console(sim, args.listen, "ff68", HELP, _console)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
