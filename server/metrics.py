"""Prometheus metrics of one server process (its own registry, exposed at /metrics)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
        self._counters = {"issued": self.issued, "called": self.called, "served": self.served}

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

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
