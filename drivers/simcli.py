"""``hallq sim <device> --listen HOST:PORT``: run one device simulator in the foreground.

The lead hooks :func:`run_sim` into the ``hallq`` CLI. ``kind`` is a short device name
(printer, idcard, led, keypads, camera) or any driver name with a simulator in
``drivers.registry.SIMULATORS``; ``listen`` is ``HOST:PORT`` (port 0 = any free port)
or ``pty`` (prints the pty path to open).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Any, TextIO

from pydantic import ValidationError

from drivers import registry
from drivers.errors import DeviceConfigError

# short CLI names -> driver names
KINDS: dict[str, str] = {
    "printer": "escpos",
    "idcard": "sam",
    "led": "onbon_bx",
    "keypads": "ff68",
    "keypad": "ff68",
    "camera": "opencv",
    "gsm": "gsm_at",
    "scanner": "serial_scanner",
}


def driver_for(kind: str) -> str:
    """The driver name behind a short CLI name (driver names pass through)."""
    driver = KINDS.get(kind, kind)
    if driver not in registry.SIMULATORS:
        known = sorted(set(KINDS) | set(registry.SIMULATORS))
        raise DeviceConfigError(f"no simulator for {kind!r}; known: {', '.join(known)}")
    return driver


def parse_listen(listen: str) -> tuple[str, int] | None:
    """``HOST:PORT`` -> (host, port); ``pty`` -> None."""
    if listen == "pty":
        return None
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise DeviceConfigError(f"--listen {listen!r}: expected HOST:PORT or pty")
    return host.strip("[]") or "127.0.0.1", int(port)


def _options(driver: str, options: dict[str, Any]) -> Any:
    """The driver's Options model when the driver loads (simulators accept it or a dict)."""
    try:
        model = getattr(registry.driver_class(driver), "Options", None)
    except DeviceConfigError:
        return options
    if model is None:
        return options
    try:
        return model.model_validate(options)
    except ValidationError:  # simulator-only options (a reader model, repeat_unacked …): the simulator reads the dict
        return options


async def serve_sim(
    kind: str,
    listen: str,
    options: dict[str, Any] | None = None,
    *,
    stop: asyncio.Event | None = None,
    out: TextIO = sys.stdout,
) -> Any:
    """Start the simulator and serve until ``stop`` is set (forever when None); returns the simulator."""
    driver = driver_for(kind)
    where = parse_listen(listen)
    sim = registry.simulator_class(driver)(f"sim-{kind}", _options(driver, dict(options or {})))
    url = await sim.start_pty() if where is None else await sim.start(*where)
    listeners = getattr(sim, "ticket_listeners", None)
    if isinstance(listeners, list):  # printers: echo every printed ticket
        listeners.append(lambda t: print(f"--- ticket {t['index']} ({t['bytes']} bytes)\n{t['text']}\n",
                                         file=out, flush=True))
    print(json.dumps({"simulator": driver, "url": url, "faults": list(getattr(sim, "faults", ()))},
                     ensure_ascii=False), file=out, flush=True)
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        await sim.stop()
    return sim


def run_sim(kind: str, listen: str, options: dict[str, Any] | None = None) -> int:
    """Blocking entry point for ``hallq sim``; Ctrl+C stops. Returns a process exit code."""
    try:
        asyncio.run(serve_sim(kind, listen, options))
    except DeviceConfigError as exc:
        print(f"hallq sim: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # port in use, no pty
        print(f"hallq sim: {exc}", file=sys.stderr)
        return 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 0
