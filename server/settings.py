"""Process settings of the queue server (environment ``HALLQ_*`` and CLI flags)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = REPO_ROOT / "config" / "demo.yaml"


class Settings(BaseSettings):
    """Settings of one server process; the hall itself is described by the YAML config."""

    model_config = SettingsConfigDict(env_prefix="HALLQ_", extra="ignore")

    config: Path = Field(default=DEMO_CONFIG, description="Hall configuration YAML")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: the config's server.database or sqlite:///var/hallq.db"
    )
    demo: bool = Field(default=False, description="Demo mode: devices point at simulators started by the server")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Device URL overrides from `--device ID=URL`, applied by the device manager.
    devices: dict[str, str] = Field(default_factory=dict)
    # Threads for blocking store reads; SQLite serialises writers anyway, so a few suffice.
    store_threads: int = 8
    # Where mutations run: "thread" = one writer thread; "inline" = on the event loop, which
    # avoids two GIL hand-offs per call (measured: ~1.6x the throughput, half the p50 on SQLite)
    # but blocks the loop while another process holds the SQLite write lock; "auto" = inline
    # for SQLite, thread for PostgreSQL (network round trips must not block the loop).
    store_writes: Literal["auto", "inline", "thread"] = "auto"
    # How often to pick up events committed by other server processes (seconds; 0 = never).
    event_poll_seconds: float = 0.5
    # Bounded per-subscriber websocket queue; a slower client is told to resync.
    subscriber_queue: int = 256
    # Who runs the devices (server/devices/host.py): "embedded" = a device host inside this
    # process (``hallq serve`` with one worker); "external" = a ``hallq devices`` process
    # (``--workers N`` starts one, ``--no-devices`` expects one elsewhere): workers open none.
    device_host: Literal["embedded", "external"] = "embedded"
    # device hosts beat every device_heartbeat_seconds; a host silent for device_stale_seconds
    # is shown offline and its device claims are free for another host
    device_heartbeat_seconds: float = 5.0
    device_stale_seconds: float = 15.0
    # a kiosk's ticket answer waits this long for its printer (server/kiosk/service.py), then shows the QR
    kiosk_print_wait_seconds: float = 5.0
    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"  # json: one object per line with the request id (server/logs.py)
    access_log: bool = False

    def resolved_database_url(self, configured: str | None = None) -> str:
        """The database URL: explicit setting, else the config's, else SQLite under var/."""
        if self.database_url:
            return self.database_url
        if configured:
            return configured
        var = Path.cwd() / "var"
        var.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{var / 'hallq.db'}"
