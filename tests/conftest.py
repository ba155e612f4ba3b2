"""Fixtures shared by the whole suite: a throwaway PostgreSQL server and a tiny in-memory store."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.config import HallConfig
from server.errors import Conflict, unknown_ticket, unknown_window, window_not_open
from server.store.views import (
    Event,
    HallSnapshot,
    HallStatus,
    IssuedTicket,
    Outcome,
    ServiceStatus,
    TicketView,
    WindowView,
)

# -- PostgreSQL ---------------------------------------------------------------------

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg_bin(name: str) -> str | None:
    for d in PG_BIN_DIRS:
        if (d / name).exists():
            return str(d / name)
    return shutil.which(name)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: drop to nobody
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--", *cmd]
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL (``postgresql+psycopg://…/postgres``) of a throwaway PostgreSQL server for this session."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    base = Path(tempfile.mkdtemp(prefix="hallq-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        os.chmod(base, 0o755)
        shutil.chown(base, "nobody")
        shutil.chown(sock, "nobody")
    port = free_port()
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
    subprocess.run(
        _as_postgres_user([initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]),
        check=True, capture_output=True, env=env, timeout=120,
    )
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} "
            "-c fsync=off -c full_page_writes=off -c max_connections=200")
    subprocess.run(
        _as_postgres_user([pg_ctl, "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "-t", "60", "start"]),
        check=True, capture_output=True, env=env, timeout=90,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True, env=env, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_db_url(postgres_url: str) -> str:
    """A fresh empty database on the session's PostgreSQL server."""
    import psycopg

    name = f"t_{secrets.token_hex(6)}"
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


# -- an in-memory store (for hub/websocket tests that need no database) ---------------


class FakeStore:
    """The QueueStore surface used by the web layer, in memory (issue, call-next, start, finish)."""

    def __init__(self, url: str, config: HallConfig) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.tickets: dict[int, dict[str, Any]] = {}
        self.counters: dict[str, int] = {}
        self.windows: dict[int, dict[str, Any]] = {
            w.number: {"state": "closed", "current": None, "clerk": None} for w in config.windows
        }
        self.events: list[Event] = []

    def migrate(self) -> None:
        """Nothing to migrate."""

    def close(self) -> None:
        """Nothing to close."""

    def current_seq(self) -> int:
        """Highest event seq."""
        return len(self.events)

    def now_ms(self) -> int:
        """The store's clock in ms."""
        return int(dt.datetime.now(dt.UTC).timestamp() * 1000)

    def device_claims(self) -> list[Any]:
        """No device host holds anything here."""
        return []

    def device_statuses(self) -> dict[str, tuple[dict[str, Any], int]]:
        """No device reported."""
        return {}

    def _ticket(self, t: dict[str, Any]) -> TicketView:
        return TicketView(
            id=t["id"], number=t["number"], service=t["service"], service_name=t["service"], state=t["state"],
            priority="normal", channel="kiosk", window=t["window"], issued_at=t["at"], called_at=None,
            started_at=None, finished_at=None, recall_count=0, ahead=None, eta_minutes=None,
            parent_id=None, masked_id=None, masked_name=None, rating=None, business_day="2026-11-27", kiosk=None,
        )

    def _window(self, number: int) -> WindowView:
        if number not in self.windows:
            raise unknown_window(number)
        w, cfg = self.windows[number], self.config.window(number)
        current = self._ticket(self.tickets[w["current"]]) if w["current"] else None
        return WindowView(number=number, name=cfg.label, zone=cfg.zone, state=w["state"], clerk=w["clerk"],
                          pause_reason=None, current=current, services=[s.code for s in cfg.services])

    def _emit(self, type: str, topics: tuple[str, ...], data: dict[str, Any]) -> Event:
        event = Event.of(type, topics, data, len(self.events) + 1, dt.datetime.now(dt.UTC).isoformat())
        self.events.append(event)
        return event

    def snapshot(self) -> HallSnapshot:
        """Hall snapshot."""
        with self.lock:
            waiting = [t["service"] for t in self.tickets.values() if t["state"] == "issued"]
            services = [
                ServiceStatus(s.code, s.name, s.prefix, s.category, waiting.count(s.code), 0, None,
                              self.counters.get(s.code, 0), s.daily_limit, True, None)
                for s in self.config.services
            ]
            return HallSnapshot(HallStatus(self.config.hall.name, "2026-11-27", True, None), services,
                                [self._window(n) for n in self.windows], [], len(self.events))

    def get_ticket(self, ticket_id: int) -> TicketView:
        """One ticket."""
        with self.lock:
            if ticket_id not in self.tickets:
                raise unknown_ticket(ticket_id)
            return self._ticket(self.tickets[ticket_id])

    def get_ticket_by_token(self, token: str) -> IssuedTicket:
        """One ticket by token."""
        with self.lock:
            for t in self.tickets.values():
                if t["token"] == token:
                    return IssuedTicket(self._ticket(t), token)
            raise unknown_ticket(token)

    def window(self, number: int) -> WindowView:
        """One window."""
        with self.lock:
            return self._window(number)

    def waiting_for_window(self, number: int) -> list[TicketView]:
        """Waiting tickets of the window's services."""
        with self.lock:
            codes = self._window(number).services
            return [self._ticket(t) for t in self.tickets.values() if t["state"] == "issued" and t["service"] in codes]

    def last_events(self, after_seq: int, limit: int = 1000) -> list[Event]:
        """Events after a seq."""
        with self.lock:
            return self.events[after_seq : after_seq + limit]

    def issue(self, service: str, **_: Any) -> Outcome[IssuedTicket]:
        """Issue a ticket."""
        with self.lock:
            cfg = self.config.service(service)
            n = self.counters[service] = self.counters.get(service, 0) + 1
            tid = len(self.tickets) + 1
            self.tickets[tid] = {"id": tid, "number": f"{cfg.prefix}{n:03d}", "service": service, "state": "issued",
                                 "window": None, "token": secrets.token_urlsafe(8), "at": "2026-11-27T09:00:00+08:00"}
            view = self._ticket(self.tickets[tid])
            ev = self._emit("ticket.issued", ("hall", f"ticket:{tid}"), {"ticket": view.to_dict()})
            return Outcome(IssuedTicket(view, self.tickets[tid]["token"]), (ev,))

    def open_window(self, number: int, *, clerk: str | None = None, actor: str = "clerk") -> Outcome[WindowView]:
        """Open a window."""
        with self.lock:
            self._window(number)
            self.windows[number].update(state="open", clerk=clerk)
            view = self._window(number)
            ev = self._emit("window.changed", ("hall", f"window:{number}"), {"window": view.to_dict()})
            return Outcome(view, (ev,))

    def _step(self, number: int, need: str, to: str, type: str) -> Outcome[TicketView]:
        w = self._window(number)
        if w.current is None or w.current.state != need:
            raise Conflict("状态不对", "wrong state", code="invalid_transition")
        t = self.tickets[w.current.id]
        t["state"] = to
        if to == "done":
            self.windows[number].update(current=None, state="open")
        view = self._ticket(t)
        ev = self._emit(type, ("hall", f"window:{number}", f"ticket:{t['id']}"), {"ticket": view.to_dict()})
        return Outcome(view, (ev,))

    def call_next(self, number: int, *, actor: str = "clerk") -> Outcome[TicketView | None]:
        """Call the oldest waiting ticket of the window's services."""
        with self.lock:
            w = self._window(number)
            if w.state == "closed":
                raise window_not_open(number, w.state)
            for t in self.tickets.values():
                if t["state"] == "issued" and t["service"] in w.services:
                    t.update(state="called", window=number)
                    self.windows[number].update(current=t["id"], state="calling")
                    view = self._ticket(t)
                    ev = self._emit("ticket.called", ("hall", f"window:{number}", f"ticket:{t['id']}"),
                                    {"ticket": view.to_dict()})
                    return Outcome(view, (ev,))
            return Outcome(None, ())

    def start(self, number: int, *, actor: str = "clerk") -> Outcome[TicketView]:
        """Start serving."""
        with self.lock:
            return self._step(number, "called", "serving", "ticket.started")

    def finish(self, number: int, *, actor: str = "clerk") -> Outcome[TicketView]:
        """Finish."""
        with self.lock:
            return self._step(number, "serving", "done", "ticket.finished")


@pytest.fixture
def fake_store_factory() -> type[FakeStore]:
    """Pass as ``create_app(..., store_factory=...)`` for tests that need no database."""
    return FakeStore



# -- a real HTTP server in the test's event loop --------------------------------------


@pytest.fixture
def live_server() -> Any:
    """``async with live_server(app) as base_url``: serve an app with uvicorn on 127.0.0.1."""
    from tests.support.serving import serving

    return serving


@pytest.fixture
def hall_config(demo_config: HallConfig) -> HallConfig:
    """The demo hall without its simulated devices (``url: sim`` needs demo mode)."""
    return demo_config.model_copy(update={"devices": []})


@pytest.fixture(scope="session")
def demo_config() -> HallConfig:
    """The demo hall configuration (config/demo.yaml; always open)."""
    from server.config import load_config
    from server.settings import DEMO_CONFIG

    return load_config(DEMO_CONFIG)
