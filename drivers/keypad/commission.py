"""Commissioning an FF 68 keypad bus: press every key, confirm what it means, write the map.

Real keypads differ in what their values mean (see ``drivers.keypad.codec.EVALUATOR_MAPS``),
so an installer walks the hall once: for each press the tool shows the address, the key
value and the meaning hallq would store now; the installer keeps it (Enter), corrects it
(a level 1..5 for an evaluator, a key name for a caller), or skips it. The confirmed
maps are written into the device's ``options`` in the hall YAML, per address, with the
rest of the file (comments, order, other devices) left as it was.

``hallq devices commission <device-id> [--config FILE] [--url URL]`` runs it; the
pieces (``describe``, ``Commissioning``, ``commission``, ``write_options``) are usable
on their own. No server imports: this is a driver-side tool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.keypad import codec
from drivers.keypad.options import KEY_NAMES, Ff68Options

ReadLine = Callable[[], Awaitable[str | None]]  # the next input line, None at end of input
Say = Callable[[str], None]


@dataclass(frozen=True)
class Press:
    """One press as the installer sees it: who sent it, the raw value, hallq's current meaning."""

    address: int
    role: str  # "evaluator" | "caller"
    window: int | None  # None: the address is not configured on this bus
    value: int  # evaluator value, caller key code, or the digit before OK
    ok: bool = False  # caller: a digit followed by OK
    digits: str = ""  # caller: a multi-digit entry + OK (not mappable)
    meaning: str | None = None  # "5" (a level) or a key name; None = hallq refuses it today

    def describe(self) -> str:
        """One line for the installer."""
        who = f"{self.role} {self.address}" + (f" (window {self.window})" if self.window else " (not configured)")
        if self.digits:
            return f"{who}: digits {self.digits} + OK — a number entry, not a key (caller model decides)"
        what = f"value {self.value}" if self.role == "evaluator" else (
            f"digit {self.value} + OK" if self.ok else f"key code 0x{self.value:02X}"
        )  # fmt: skip
        if self.window is None:
            stored = "nothing (address not configured)"
        elif self.meaning is None:
            stored = "nothing (refused with a beep)"
        elif self.role == "evaluator":
            stored = f"level {self.meaning} {codec.LEVEL_NAMES[int(self.meaning)]}"
        else:
            stored = self.meaning
        return f"{who}: {what} → hallq stores {stored}"


def describe(options: Ff68Options, frame: codec.KeypadFrame, dialect: codec.Dialect = codec.FF68) -> Press:
    """What ``frame`` is and what hallq would do with it under ``options``."""
    if codec.is_evaluator(frame, dialect):
        value = frame.data[-1] if frame.data else 0
        level = options.evaluator_map(frame.address).get(value)
        window = options.evaluators.get(frame.address)
        return Press(frame.address, "evaluator", window, value, meaning=None if level is None else str(level))
    spec = options.caller_spec(frame.address)
    keys = {**dialect.keys, **(spec.keys or {})}
    ok_codes = {**dialect.ok_codes, **(spec.ok_codes or {})}
    window = options.callers.get(frame.address)
    typed = codec.caller_input(frame, dialect, keys, ok_codes)
    if typed.key == "entry":
        return Press(frame.address, "caller", window, 0, ok=True, digits=typed.digits)
    if frame.data and frame.data[-1] == dialect.ok_key and len(frame.data) == 2:
        return Press(frame.address, "caller", window, frame.data[0], ok=True, meaning=typed.key)
    code = frame.data[-1] if frame.data else 0
    return Press(frame.address, "caller", window, code, meaning=typed.key)


@dataclass
class Commissioning:
    """The maps confirmed so far, on top of the bus options."""

    options: Ff68Options
    windows: dict[tuple[str, int], int] = field(default_factory=dict)  # (role, address) -> window
    levels: dict[int, dict[int, int]] = field(default_factory=dict)  # evaluator -> value -> level
    keys: dict[int, dict[int, str]] = field(default_factory=dict)  # caller -> code -> key
    ok_codes: dict[int, dict[int, str]] = field(default_factory=dict)  # caller -> digit -> key

    def confirm(self, press: Press, meaning: str, window: int | None = None) -> None:
        """Record ``meaning`` (a level 1..5 or a key name) for ``press``; ValueError when invalid."""
        window = window or press.window
        if window is None:
            raise ValueError(f"{press.role} {press.address} has no window: give one")
        if press.digits:
            raise ValueError("a number entry is not a key; nothing to map")
        if press.role == "evaluator":
            if not meaning.isdigit() or not 1 <= int(meaning) <= 5:
                raise ValueError("an evaluator value maps to a level 1..5")
            self.levels.setdefault(press.address, {})[press.value] = int(meaning)
        else:
            if meaning not in KEY_NAMES:
                raise ValueError(f"unknown key {meaning!r}; known: {', '.join(sorted(KEY_NAMES))}")
            table = self.ok_codes if press.ok else self.keys
            table.setdefault(press.address, {})[press.value] = meaning
        self.windows[(press.role, press.address)] = window

    @property
    def empty(self) -> bool:
        """Nothing confirmed yet."""
        return not self.windows

    def evaluator_entries(self) -> dict[int, dict[str, Any]]:
        """Per-address evaluator entries: the current map with the confirmed values over it."""
        out: dict[int, dict[str, Any]] = {}
        for address, levels in sorted(self.levels.items()):
            spec = self.options.evaluator_specs.get(address)
            current = self.options.evaluator_map(address) if spec is not None else {}
            entry: dict[str, Any] = {"window": self.windows[("evaluator", address)]}
            if spec is not None:
                entry["model"] = spec.model
            entry["map"] = dict(sorted({**current, **levels}.items()))
            out[address] = entry
        return out

    def caller_entries(self) -> dict[int, dict[str, Any]]:
        """Per-address caller entries with the confirmed key codes."""
        out: dict[int, dict[str, Any]] = {}
        for address in sorted({a for role, a in self.windows if role == "caller"}):
            spec = self.options.caller_specs.get(address)
            entry: dict[str, Any] = {"window": self.windows[("caller", address)]}
            entry["model"] = spec.model if spec is not None else self.options.caller_model
            keys = {**((spec.keys if spec else None) or {}), **self.keys.get(address, {})}
            ok_codes = {**((spec.ok_codes if spec else None) or {}), **self.ok_codes.get(address, {})}
            if keys:
                entry["keys"] = dict(sorted(keys.items()))
            if ok_codes:
                entry["ok_codes"] = dict(sorted(ok_codes.items()))
            out[address] = entry
        return out

    def summary(self) -> list[str]:
        """Lines describing what will be written."""
        lines = [f"evaluator {a}: window {e['window']}, map {e['map']}" for a, e in self.evaluator_entries().items()]
        for address, entry in self.caller_entries().items():
            keys = ", ".join(f"0x{code:02X}={name}" for code, name in entry.get("keys", {}).items())
            digits = ", ".join(f"{d} OK={name}" for d, name in entry.get("ok_codes", {}).items())
            lines.append(f"caller {address}: window {entry['window']}, {entry['model']}; " + "; ".join(
                part for part in (f"keys {keys}" if keys else "", f"digits {digits}" if digits else "") if part
            ))  # fmt: skip
        return lines


PROMPT_EVALUATOR = "  Enter = keep · 1-5 = level (5 非常满意 … 1 非常不满意) · s = skip · q = finish > "
PROMPT_CALLER = (
    "  Enter = keep · a key name (call_next recall rate pause transfer no_show suspend callback) · s · q > "
)


async def commission(frames: AsyncIterator[codec.KeypadFrame], options: Ff68Options, readline: ReadLine,
                     say: Say, dialect: codec.Dialect = codec.FF68) -> Commissioning:  # fmt: skip
    """Show each press and ask for its meaning until the installer types ``q`` (or input ends)."""
    session = Commissioning(options)
    say("Press each key of each evaluator and caller. Type q + Enter to finish.")
    line_task: asyncio.Task[str | None] | None = None
    frame_task: asyncio.Task[codec.KeypadFrame] | None = None

    async def next_line() -> str | None:
        # one reader of the input at a time: a line typed while waiting for a press is not lost
        nonlocal line_task
        line_task = line_task or asyncio.ensure_future(readline())
        try:
            return await line_task
        finally:
            line_task = None

    try:
        while True:
            line_task = line_task or asyncio.ensure_future(readline())
            frame_task = frame_task or asyncio.ensure_future(anext(frames))
            done, _ = await asyncio.wait({line_task, frame_task}, return_when=asyncio.FIRST_COMPLETED)
            if line_task in done:
                line, line_task = line_task.result(), None
                if line is None or line.strip().lower() in ("q", "quit"):
                    break
                continue  # typed without a press: ignore
            frame, frame_task = frame_task.result(), None
            press = describe(options, frame, dialect)
            say(press.describe())
            if press.digits:
                continue
            if await _ask(session, press, next_line, say) == "quit":
                break
    finally:
        for task in (line_task, frame_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await task
    return session


async def _ask(session: Commissioning, press: Press, readline: ReadLine, say: Say) -> str:
    window = press.window
    while window is None:
        say(f"  window of {press.role} {press.address}? (a number, s = skip) > ")
        answer = await readline()
        if answer is None or answer.strip().lower() in ("s", "q"):
            return "quit" if answer is None or answer.strip().lower() == "q" else "skip"
        if answer.strip().isdigit():
            window = int(answer.strip())
    while True:
        say(PROMPT_EVALUATOR if press.role == "evaluator" else PROMPT_CALLER)
        answer = await readline()
        if answer is None:
            return "quit"
        text = answer.strip()
        if text.lower() in ("q", "quit"):
            return "quit"
        if text.lower() == "s":
            return "skip"
        meaning = text or press.meaning
        if meaning is None:
            say("  hallq has no meaning for this press: give one, or s to skip")
            continue
        try:
            session.confirm(press, meaning, window)
        except ValueError as exc:
            say(f"  {exc}")
            continue
        say(f"  confirmed: {press.role} {press.address} {'value' if press.role == 'evaluator' else 'code'} "
            f"{press.value} = {meaning}")  # fmt: skip
        return "ok"


def write_options(path: Path, device_id: str, session: Commissioning) -> None:
    """Write the confirmed entries into ``device_id``'s options in the hall YAML.

    Only the lines of that device's ``options`` block are rewritten (its own comments
    kept); every other byte of the file stays as it was. The result is checked before
    the file is replaced: the bus options validate, and the rest of the config parses
    exactly as before.
    """
    import io

    import yaml as pyyaml
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarint import HexInt

    rt = YAML()  # round-trip mode: keeps comments, order and flow style inside the block
    rt.preserve_quotes = True
    rt.width = 4096  # never wrap a flow mapping mid-entry
    rt.indent(mapping=2, sequence=4, offset=2)
    text = path.read_text(encoding="utf-8")
    data = rt.load(text)
    devices = data.get("devices") or []
    entry = next((d for d in devices if d.get("id") == device_id), None)
    if entry is None:
        raise KeyError(f"no device {device_id!r} in {path}")
    if "options" not in entry:
        raise KeyError(f"device {device_id!r} in {path} has no options block to update")
    options = entry["options"]
    for name, entries in (("evaluators", session.evaluator_entries()), ("callers", session.caller_entries())):
        if entries:
            if options.get(name) is None:
                options[name] = {}
            for address, value in entries.items():
                options[name][address] = value
    Ff68Options.model_validate(_plain(options))  # refuse to write a config hallq would reject
    for spec in (options.get("callers") or {}).values():  # key codes read best in hex (0x21)
        if isinstance(spec, dict) and spec.get("keys"):
            spec["keys"] = {HexInt(code): name for code, name in spec["keys"].items()}
    line, col = entry.lc.key("options")
    lines = text.splitlines(keepends=True)
    end = line + 1
    while end < len(lines):
        stripped = lines[end].strip()
        indent = len(lines[end]) - len(lines[end].lstrip(" "))
        if stripped and indent <= col:
            break
        end += 1
    while end > line + 1 and not lines[end - 1].strip():
        end -= 1  # blank lines before the next entry stay where they are
    out = io.StringIO()
    rt.dump({"options": options}, out)
    block = "".join(" " * col + chunk for chunk in out.getvalue().splitlines(keepends=True))
    new_text = "".join(lines[:line]) + lines[line][:col] + block[col:] + "".join(lines[end:])
    before, after = pyyaml.safe_load(text), pyyaml.safe_load(new_text)
    after_entry = next(d for d in after["devices"] if d.get("id") == device_id)
    Ff68Options.model_validate(after_entry["options"])
    before_entry = next(d for d in before["devices"] if d.get("id") == device_id)
    before_entry["options"] = after_entry["options"]
    if before != after:
        raise ValueError("writing the keypad map would change other parts of the config; not written")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    tmp.replace(path)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def find_device(path: Path, device_id: str) -> dict[str, Any]:
    """The plain device entry ``device_id`` of a hall YAML."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for entry in data.get("devices") or []:
        if entry.get("id") == device_id:
            return dict(entry)
    raise KeyError(f"no device {device_id!r} in {path}")


async def run(device_id: str, config: Path, url: str | None, readline: ReadLine, say: Say) -> int:
    """Open the bus of ``device_id`` (``url`` overrides the config's), commission it, write the map."""
    from drivers import registry

    entry = find_device(config, device_id)
    if entry.get("kind") != "keypad_bus":
        say(f"{device_id} is a {entry.get('kind')!r} device, not a keypad bus")
        return 2
    target = url or str(entry.get("url", ""))
    if target in ("", "sim"):
        say(f"{device_id} has no real URL in {config}; give --url (e.g. /dev/ttyUSB0 or socket://host:port)")
        return 2
    bus = registry.build(device_id, "keypad_bus", str(entry.get("driver", "ff68")), target, entry.get("options"))
    await bus.open()
    try:
        if not await bus.wait_ready(5.0):
            say(f"{device_id}: cannot open {target}: {bus.health.detail or bus.health.state}")
            return 1
        say(f"{device_id} on {target}: {len(bus.options.callers)} callers, {len(bus.options.evaluators)} evaluators")
        session = await commission(bus.frames(), bus.options, readline, say, bus.dialect)
    finally:
        await bus.close()
    if session.empty:
        say("nothing confirmed; the config is unchanged")
        return 0
    for line in session.summary():
        say(line)
    say(f"write this into {config}? [y/N] > ")
    answer = await readline()
    if (answer or "").strip().lower() not in ("y", "yes"):
        say("not written")
        return 0
    write_options(config, device_id, session)
    say(f"written: {config} (devices[{device_id}].options)")
    return 0


def stdin_reader() -> ReadLine:
    """Lines from standard input without blocking the event loop."""
    import sys

    async def readline() -> str | None:
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        return line if line else None

    return readline


def say_stdout(text: str) -> None:
    """Print a prompt or a line at once."""
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m drivers.keypad.commission DEVICE --config FILE [--url URL]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="hallq devices commission", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("device", help="the keypad bus device id, e.g. keypads-bus1")
    parser.add_argument("--config", type=Path, default=os.environ.get("HALLQ_CONFIG") or None,
                        help="hall YAML to read and update (default: $HALLQ_CONFIG)")  # fmt: skip
    parser.add_argument("--url", default=None, help="open this URL instead of the config's")
    args = parser.parse_args(argv)
    if args.config is None:
        parser.error("give --config FILE (or set HALLQ_CONFIG): the hall YAML the map is written into")
    # the tool shows every press itself; the driver's own warnings would only interleave
    logging.getLogger("hallq").setLevel(logging.ERROR)
    try:
        return asyncio.run(run(args.device, args.config, args.url, stdin_reader(), say_stdout))
    except (KeyError, OSError) as exc:
        print(f"hallq devices commission: {exc}", flush=True)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
