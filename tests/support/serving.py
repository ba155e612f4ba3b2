"""A real uvicorn server for an app on 127.0.0.1, as ``hallq serve`` runs it."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, below the kernel's ephemeral range.

    uvicorn binds a server's port only after the app's start-up, and a demo hall's start-up
    binds its device simulators to port 0: a port picked from the ephemeral range can be
    handed to one of them meanwhile ("address already in use"). Below the range only an
    explicit bind takes a port.
    """
    low = _ephemeral_low()
    pick = random.SystemRandom()
    for _ in range(200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", pick.randrange(20000, low)))
            except OSError:
                continue
            return int(s.getsockname()[1])
    with socket.socket() as s:  # nothing free below the range: any free port
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ephemeral_low() -> int:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return max(low, 20100)


@contextlib.asynccontextmanager
async def serving(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Serve ``app`` and yield its base URL; pass ``port`` to serve again on the same one after a restart."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port or free_port(), log_level="warning",
                            access_log=False, lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(20):
            await task
