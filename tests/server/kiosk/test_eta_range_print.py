"""An uncertain wait is printed as a range (预计等待 约20–80分钟), a firm one as before, through the ESC/POS bytes."""

from __future__ import annotations

from dataclasses import replace

from displays import wording
from drivers.printer.escpos import ticket_bytes
from drivers.printer.parser import EscposParser
from drivers.printer.render import Page
from server.config import load_config
from server.kiosk.jobs import PrintJob
from server.kiosk.printing import ticket_content
from server.queue.views import TicketView
from server.settings import DEMO_CONFIG

TICKET = TicketView.from_dict({
    "id": 5, "number": "B005", "service": "social", "service_name": "社会保障", "state": "issued",
    "priority": "normal", "channel": "kiosk", "window": None, "ahead": 3, "eta_minutes": 80,
    "issued_at": "2026-11-27T09:15:00+08:00", "kiosk": "k1",
})


def _printed(ticket: TicketView) -> str:
    content = ticket_content(load_config(DEMO_CONFIG), PrintJob(1, "k1", ticket, "tok"), "http://hall")
    page = Page(48)
    for op in EscposParser("gb18030").feed(ticket_bytes(content)):
        if op.name != "cut":
            page.apply(op)
    page.finish()
    return page.text()


def test_the_wording_of_a_wait() -> None:
    assert wording.eta_line(80, [20, 80]) == "预计等待 约20–80分钟"
    assert wording.eta_line(30, None) == "预计等待 30 分钟"
    assert wording.eta_line(None, None) is None
    assert wording.eta_line(40, (40, 40)) == "预计等待 约40分钟"


def test_an_uncertain_wait_is_printed_as_a_range() -> None:
    text = _printed(replace(TICKET, eta_range=[20, 80]))
    assert "预计等待 约20–80分钟" in text
    assert "预计等待 80 分钟" not in text  # the point estimate would promise too much


def test_a_firm_wait_is_printed_as_minutes() -> None:
    text = _printed(TICKET)
    assert "预计等待 80 分钟" in text and "约" not in text.split("预计等待")[1].splitlines()[0]
