"""The device host as a process: ``hallq devices`` and the child ``hallq serve --workers N`` starts.

``run_devices`` runs a DeviceHost with a RemoteQueue until SIGINT/SIGTERM: it waits for
the server (backoff) to claim its devices, exits with status 3 when another live host
holds one (the message names it), and otherwise keeps its devices open whatever the
server does. ``mint_host_token`` creates the device token ``hallq serve`` hands its
child (stored hashed like every device token, revoked when serve stops).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from drivers.errors import DeviceConfigError
from drivers.transport import Backoff
from server.config import HallConfig
from server.devices.host import DeviceHost, default_host_name
from server.devices.remote import RemoteQueue, ServerUnreachable
from server.store.devices import DeviceClaimed

log = logging.getLogger("hallq.devices")

TOKEN_ENV = "HALLQ_DEVICE_TOKEN"
CONFIG_EXIT = 2
CLAIMED_EXIT = 3


async def run_devices(config: HallConfig, server: str, token: str, *, name: str | None = None,
                      overrides: dict[str, str] | None = None, heartbeat_seconds: float = 5.0,
                      demo: bool = False, stop: asyncio.Event | None = None) -> int:
    """Run the device host until ``stop`` (or a signal); 3 when a device is claimed by another host.

    ``demo``: devices with ``url: sim`` get their simulators, started in this process.
    """
    from server.hosting.embedded import build_cameras, wirings_for

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    name = name or default_host_name()
    port = RemoteQueue(server, token, label=name)
    # cameras run here too (their absence and crowding alerts reach every worker through the log)
    cameras = build_cameras(config) if any(d.kind == "camera" for d in config.devices) else None
    host = DeviceHost(config, port, name=name, wirings=wirings_for(port, cameras), overrides=overrides, demo=demo,
                      public_base_url=(config.server.public_url or server), heartbeat_seconds=heartbeat_seconds)
    # a starting server (workers still importing) answers within seconds: retry often enough to
    # claim the devices soon after it does (the default 30 s cap left them idle up to 30 s)
    backoff = Backoff(maximum=2.0)
    relay: Any = None  # the camera relay (server/cameras/relay.py), when this host runs cameras
    try:
        while not stop.is_set():
            try:
                await host.start()
                break
            except ServerUnreachable as exc:
                log.info("waiting for the hallq server at %s (%s)", server, exc.en)
                await asyncio.sleep(backoff.next_delay())
            except DeviceConfigError as exc:
                print(f"hallq devices: {exc}", file=sys.stderr, flush=True)
                return CONFIG_EXIT
            except DeviceClaimed as exc:
                print(f"hallq devices: {exc.en} (a stopped host's claim lapses when its heartbeats are "
                      "older than HALLQ_DEVICE_STALE_SECONDS)", file=sys.stderr, flush=True)
                log.error("%s", exc.en)
                return CLAIMED_EXIT
        log.info("device host %s: %d devices on %s", name, len(host.device_ids), server)
        if cameras is not None:  # the web workers show these cameras' streams through it
            relay = await cameras.serve_relay(config)
        await stop.wait()
        return 0
    finally:
        if relay is not None:
            await relay.stop()
        await host.stop()
        await port.aclose()


def mint_host_token(database_url: str, config: HallConfig) -> tuple[int, str]:
    """Create a device-host token bound to every window (its id and the token, shown to nobody)."""
    from server.auth import accounts
    from server.auth.roles import Role
    from server.store import QueueStore

    store = QueueStore(database_url, config)
    try:
        store.migrate()
        with store.engine.begin() as conn:
            row, token = accounts.create_device_token(
                conn, role=Role.DEVICE, name=f"serve-{os.getpid()}-{int(time.time())}", kiosk=None,
                windows=[w.number for w in config.windows], created_by="hallq serve", now_ms=store.now_ms())
        return int(row.id), token
    finally:
        store.close()


def revoke_host_token(database_url: str, config: HallConfig, token_id: int) -> None:
    """Revoke the token ``mint_host_token`` made (serve is stopping)."""
    from server.auth import accounts
    from server.store import QueueStore

    store = QueueStore(database_url, config)
    try:
        with contextlib.suppress(Exception), store.engine.begin() as conn:
            accounts.revoke_device_token(conn, token_id, store.now_ms())
    finally:
        store.close()


def spawn_host(server: str, token: str, config_path: Path | None, devices: dict[str, str]) -> subprocess.Popen[Any]:
    """Start ``hallq devices`` beside the workers (the token travels in the environment, not argv)."""
    # a stable name: after a restart of serve its device host takes its own claims back at once
    argv = [sys.executable, "-m", "server.cli", "devices", "--server", server, "--name",
            f"serve-{socket.gethostname()}"]
    if config_path is not None:
        argv += ["--config", str(config_path)]
    for device_id, url in devices.items():
        argv += ["--device", f"{device_id}={url}"]
    return subprocess.Popen(argv, env={**os.environ, TOKEN_ENV: token},
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)


def _die_with_parent() -> None:
    """Linux: SIGTERM the child when ``hallq serve`` dies without cleaning up (kill -9, OOM)."""
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class HostChild:
    """The device-host child of ``hallq serve --workers N``, restarted when it dies (not when refused)."""

    def __init__(self, server: str, token: str, config_path: Path | None, devices: dict[str, str]) -> None:
        self.args = (server, token, config_path, devices)
        self.proc = spawn_host(*self.args)
        self.restarts = 0
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="device-host-child", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        backoff = Backoff()
        while not self._stopping.is_set():
            code = self.proc.wait()
            if self._stopping.is_set():
                return
            if code in (CLAIMED_EXIT, CONFIG_EXIT):  # refused, or a bad device entry: a restart cannot help
                log.error("the device host stopped (%s); not restarting it",
                          "another host runs its devices" if code == CLAIMED_EXIT else "device config error")
                return
            delay = backoff.next_delay()
            log.warning("the device host exited with %s; restarting in %.1f s", code, delay)
            if self._stopping.wait(delay):
                return
            self.proc = spawn_host(*self.args)
            self.restarts += 1

    def stop(self) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after 10 s)."""
        self._stopping.set()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
