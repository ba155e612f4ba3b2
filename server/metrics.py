"""Prometheus metrics of one server process (its own registry, exposed at /metrics)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_COUNTED = {"ticket.issued": "issued", "ticket.called": "called", "ticket.finished": "served"}


class Metrics:
    """Ticket counters by service, waiting gauges, request latency and hub figures."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.issued = Counter("hallq_tickets_issued", "Tickets issued by this process", ["service"], registry=r)
        self.called = Counter("hallq_tickets_called", "Tickets called by this process", ["service"], registry=r)
        self.served = Counter("hallq_tickets_served", "Tickets finished by this process", ["service"], registry=r)
        self.waiting = Gauge("hallq_waiting", "Tickets waiting now, per service", ["service"], registry=r)
        self.latency = Histogram(
            "hallq_request_seconds",
            "HTTP request latency by route template",
            ["method", "route", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )
        self.events = Counter("hallq_events_published", "Events delivered to the hub", registry=r)
        self.subscribers = Gauge("hallq_ws_subscribers", "Live websocket/handler subscribers", registry=r)
        self.ws_clients = Gauge("hallq_ws_clients", "Open websocket connections to this process", registry=r)
        # commit (the event's stored time) → hand-over to the hub: how far screens lag the store
        self.event_lag = Histogram("hallq_event_lag_seconds", "From an event's commit to its publication",
                                   buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0), registry=r)
        self.store_seconds = Histogram("hallq_store_seconds", "Store calls by kind (read, write, transition)",
                                       ["kind"], registry=r,
                                       buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
        self.device_available = Gauge("hallq_device_available", "1 when a device reports available, else 0",
                                       ["device", "kind"], registry=r)
        self.device_report_age = Gauge("hallq_device_report_age_seconds", "Seconds since a device's last report",
                                       ["device", "kind"], registry=r)
        self._counters = {"issued": self.issued, "called": self.called, "served": self.served}
        # labelled children, cached: ``labels()`` takes a lock and builds a key on every call (hot path)
        self._children: dict[tuple[str, ...], Any] = {}

    def store_timer(self, kind: str) -> Any:
        """The ``hallq_store_seconds`` child of ``kind`` (read, write, transition)."""
        child = self._children.get(("store", kind))
        if child is None:
            child = self._children[("store", kind)] = self.store_seconds.labels(kind)
        return child

    def observe_request(self, method: str, route: str, status: str, seconds: float) -> None:
        """Observe one HTTP request's latency under its route template."""
        key = ("request", method, route, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.latency.labels(method, route, status)
        child.observe(seconds)

    def count_events(self, events: Iterable[Any]) -> None:
        """Count ticket issue/call/finish events by service."""
        for event in events:
            kind = _COUNTED.get(event.type)
            if kind is None:
                continue
            ticket = event.ticket  # a typed server.queue.events.Event: no dict built per event
            self._counters[kind].labels(service=ticket.service if ticket is not None else "?").inc()

    def set_waiting(self, waiting: Mapping[str, int]) -> None:
        """Set the waiting gauges from a snapshot."""
        for service, count in waiting.items():
            self.waiting.labels(service=service).set(count)

    def observe_lag(self, at: str | None) -> None:
        """Observe the lag of an event committed at ``at`` (ISO 8601) published now."""
        if not at:
            return
        try:
            committed = datetime.fromisoformat(at)
        except ValueError:
            return
        if committed.tzinfo is None:
            committed = committed.replace(tzinfo=UTC)
        self.event_lag.observe(max(0.0, (datetime.now(UTC) - committed).total_seconds()))

    def set_devices(self, devices: Iterable[Mapping[str, Any]], reported_ms: Mapping[str, int], now_ms: int) -> None:
        """Device gauges from the stored device list (``server/devices/status.py`` ``device_list``)."""
        self.device_available.clear()
        self.device_report_age.clear()
        for entry in devices:
            labels = {"device": str(entry.get("id")), "kind": str(entry.get("kind"))}
            self.device_available.labels(**labels).set(1 if entry.get("health", {}).get("available") else 0)
            if reported_ms.get(labels["device"]):
                self.device_report_age.labels(**labels).set((now_ms - reported_ms[labels["device"]]) / 1000)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
