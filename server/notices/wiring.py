"""Build and start the notices of a running hall (called from ``server/app.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.notices.adapters import HttpGatewayNotifier, LogNotifier, Notifier
from server.notices.numbers import phone_hasher, sealer
from server.notices.service import NoticeService

if TYPE_CHECKING:
    from server.config import HallConfig
    from server.services import Services


def notifier_for(config: HallConfig) -> Notifier | None:
    """The adapter this server sends with: log or http; None for the modem (the device host sends)."""
    channel = config.notices.channel
    if channel == "http":
        return HttpGatewayNotifier(config.notices.http, config.hall.name)
    if channel == "log":
        return LogNotifier()
    return None


def start_notices(services: Services) -> NoticeService | None:
    """A NoticeService on the store's database following the hub; None without a SQL store."""
    if getattr(services.store, "engine", None) is None:
        return None
    config = services.config
    service = NoticeService(lambda: services.config, services.store, services.hall, services.hub,
                            hasher=phone_hasher(config.server.secret_path), sealer=sealer(config.server.secret_path),
                            notifier=notifier_for(config),
                            alerts=services.alerts)  # fmt: skip
    service.start()
    return service
