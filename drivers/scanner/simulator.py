"""A simulated serial QR scanner: ``scan`` {text, terminator?, aim?} sends one code line.

Faults: ``garbage`` (control bytes and an overlong burst before every line) and
``gb18030`` (the scanner sends Chinese text in GB 18030 instead of UTF-8).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar

from drivers.scanner.codec import MAX_LINE, encode_line
from drivers.simulator import StreamSimulator, serve_with_console


class ScannerSimulator(StreamSimulator):
    """Implements ``drivers.simulator.Simulator`` for the serial_scanner driver."""

    faults: ClassVar[tuple[str, ...]] = ("garbage", "gb18030")

    def __init__(self, device_id: str, options: Any = None) -> None:
        super().__init__(device_id)
        self.sent: list[str] = []

    def state(self) -> dict[str, Any]:
        """What was scanned and whether a host is connected."""
        return {"scans": list(self.sent), "connected": bool(self._writers), "fault": self.fault}

    async def act(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """``scan`` {text, terminator (cr|lf|crlf), aim (e.g. ]Q1)}."""
        if action != "scan":
            raise ValueError(f"unknown action {action!r}; known: scan")
        text = str(params["text"])
        data = encode_line(text, params.get("terminator", "cr"), aim=params.get("aim"),
                           encoding="gb18030" if self.fault == "gb18030" else "utf-8")  # fmt: skip
        if self.fault == "garbage":
            data = b"\x00\x07\x1b[\r" + b"#" * (MAX_LINE + 10) + b"\r" + data
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.write(data)
                await writer.drain()
        self.sent.append(text)
        return {"sent": bool(self._writers), "bytes": data.hex(" ") if len(data) < 200 else f"{len(data)} bytes"}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Hold one host connection (a scanner ignores what the host sends)."""
        self._writers.add(writer)
        async with self.changed:
            self.changed.notify_all()
        try:
            while await reader.read(4096):
                pass
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


HELP = "commands: scan TEXT | state | quit"


async def _console(sim: ScannerSimulator, lines: Any, out: Any) -> None:
    """``scan HQ-20261202-0001`` sends that code."""
    import json

    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, lines.readline)
        if not line or line.strip() == "quit":
            return
        command, _, text = line.strip().partition(" ")
        result: Any = await sim.act("scan", {"text": text}) if command == "scan" and text else (
            sim.state() if command == "state" else HELP)
        print(json.dumps(result, ensure_ascii=False), file=out, flush=True)


async def _main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m drivers.scanner.simulator", description=__doc__, epilog=HELP)
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT, or pty")
    args = parser.parse_args(argv)
    await serve_with_console(ScannerSimulator("sim-scanner"), args.listen, "serial_scanner", HELP, _console)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
