"""Build and start the alert inbox of a running hall (called from ``server/app.py``)."""

from __future__ import annotations

from typing import Any

from server.alerts.inbox import AlertInbox, Commit
from server.alerts.store import AlertStore
from server.queue.events import DataEvent, Event, EventType
from server.services import Services


def outbox_commit(services: Services) -> Commit | None:
    """Publish alert changes through the store's outbox (the event log every worker reads).

    The event commits in its own short transaction on the queue store's writer, then the hall
    service publishes it in ``seq`` order (awaited: an ack's answer comes after this worker's
    clients got it); other workers pick it up from the log (their poller or
    the next gap fill). None when the store has no outbox (test doubles): this process's hub only.
    """
    store = services.store
    if not callable(getattr(store, "_tx", None)):
        return None

    def emit(kind: EventType, topics: tuple[str, ...], data: dict[str, Any]) -> tuple[Event, ...]:
        with store._tx() as tx:
            tx.emit(kind, topics, DataEvent(data))
        return tuple(tx.events)

    async def commit(kind: EventType, topics: tuple[str, ...], data: dict[str, Any]) -> None:
        await services.hall.publish(await services.hall.write(emit, kind, topics, data))

    return commit


def start_inbox(services: Services) -> AlertInbox | None:
    """An inbox on the store's database, following the hub and running the rules (``supervision:``).

    None for a store without a SQL engine (test doubles of the queue store): there is nothing to keep alerts in.
    """
    engine = getattr(services.store, "engine", None)
    if engine is None:
        return None
    inbox = AlertInbox(AlertStore(engine), services.hub, services.config.hall.tz,
                       config=services.config, commit=outbox_commit(services))
    inbox.start()
    live = getattr(services, "live", None)  # live configuration (server/config_live/): follow every change
    if live is not None:
        live.subscribe(lambda _old, new: inbox.reconfigure(new))
    return inbox
