"""The 过号 sentence comes from the policy and is printed on the ticket (not "过号请重新取号")."""

from __future__ import annotations

import json

from displays import wording
from drivers.printer.escpos import DEFAULT_FOOTER
from server.config import load_config
from server.http.pages import bundle_dir
from server.kiosk.jobs import PrintJob
from server.kiosk.printing import ticket_content
from server.queue.views import TicketView
from server.settings import DEMO_CONFIG

TICKET = TicketView.from_dict({
    "id": 5, "number": "B005", "service": "social", "service_name": "社会保障", "state": "issued",
    "priority": "normal", "channel": "kiosk", "window": None, "ahead": 3, "eta_minutes": 30,
    "issued_at": "2026-11-27T09:15:00+08:00", "kiosk": "k1",
})


def test_the_sentence_names_the_call_back_minutes() -> None:
    assert wording.no_show_sentence(30) == "过号30分钟内请向窗口工作人员说明，逾时请重新取号"
    assert wording.no_show_sentence(15).startswith("过号15分钟内")
    assert wording.no_show_sentence(0) == "过号请重新取号"  # no call-back at all: a new ticket is the truth
    assert "15 minutes" in wording.no_show_sentence_en(15)


def test_the_printed_ticket_carries_the_policy_sentence() -> None:
    config = load_config(DEMO_CONFIG)
    minutes = config.policy.callback_minutes
    content = ticket_content(config, PrintJob(1, "k1", TICKET, "tok"), "http://hall")
    assert content.footer == f"请留意叫号；{wording.no_show_sentence(minutes)}；监督电话：12345"  # bulletin default
    shorter = config.model_copy(update={"policy": config.policy.model_copy(update={"callback_minutes": 10})})
    assert "过号10分钟内" in ticket_content(shorter, PrintJob(1, "k1", TICKET, "tok"), "http://hall").footer
    assert "重新取号" not in DEFAULT_FOOTER


def test_transfer_keeps_the_number() -> None:
    # the citizen page's transferred state says what the store does: the number stays
    catalogue = json.loads((bundle_dir("displays", "static") / "i18n" / "zh-CN.json").read_text("utf-8"))
    assert catalogue["state.transferred"] == wording.TRANSFERRED and "号码不变" in wording.TRANSFERRED
