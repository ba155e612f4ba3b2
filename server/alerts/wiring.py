"""Build and start the alert inbox of a running hall (called from ``server/app.py``)."""

from __future__ import annotations

from server.alerts.inbox import AlertInbox
from server.alerts.store import AlertStore
from server.services import Services


def start_inbox(services: Services) -> AlertInbox | None:
    """An inbox on the store's database, following the hub and running the rules (``supervision:``).

    None for a store without a SQL engine (test doubles of the queue store): there is nothing to keep alerts in.
    """
    engine = getattr(services.store, "engine", None)
    if engine is None:
        return None
    inbox = AlertInbox(AlertStore(engine), services.hub, services.config.hall.tz,
                       config=services.config)
    inbox.start()
    live = getattr(services, "live", None)  # live configuration (server/config_live/): follow every change
    if live is not None:
        live.subscribe(lambda _old, new: inbox.reconfigure(new))
    return inbox
