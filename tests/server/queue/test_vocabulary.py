"""The queue's vocabulary: the rules on its enums and the catalogue of event types."""

from __future__ import annotations

import re
from pathlib import Path

from server.queue.enums import RATING_LEVELS, Rating, WindowState
from server.queue.events import DataEvent, EventType, RatingEvent, RatingRequest, TicketEvent, WindowEvent, payload_type

ROOT = Path(__file__).resolve().parents[3]
PREFIXES = "ticket|rating|window|hall|print|device|identity|announcement|camera|alert"
LITERAL = re.compile(rf"""["']((?:{PREFIXES})\.[a-z_]+)["']""")


def test_staffed_window_states() -> None:
    assert {s for s in WindowState if s.staffed()} == {WindowState.OPEN, WindowState.CALLING, WindowState.SERVING}


def test_bad_ratings_are_levels_one_and_two() -> None:
    assert [r.value for r in Rating if r.is_bad()] == [1, 2]
    assert {r.value: r.label for r in Rating} == RATING_LEVELS


def test_payload_types() -> None:
    assert payload_type(EventType.TICKET_CALLED) is TicketEvent
    assert payload_type(EventType.TICKET_RATED) is RatingEvent
    assert payload_type(EventType.RATING_REQUESTED) is RatingRequest
    assert payload_type(EventType.WINDOW_CHANGED) is WindowEvent
    assert payload_type(EventType.DEVICE_HEALTH) is DataEvent


def test_every_event_type_spelled_in_python_is_in_the_catalogue() -> None:
    known = {t.value for t in EventType}
    found: dict[str, str] = {}
    for path in [*ROOT.glob("server/**/*.py"), *ROOT.glob("drivers/**/*.py")]:
        for name in LITERAL.findall(path.read_text(encoding="utf-8")):
            if not name.endswith(("html", "_n")):  # page templates, not events
                found.setdefault(name, str(path.relative_to(ROOT)))
    unknown = {name: where for name, where in found.items() if name not in known}
    assert unknown == {}
