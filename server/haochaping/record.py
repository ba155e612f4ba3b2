"""The record uploaded for one rating: the GB/T 39735 fields as far as hallq can source them.

=================  ==================  ===========================================================
key                GB/T 39735 field    source in hallq
=================  ==================  ===========================================================
evaluation_id      评价编号             ``ratings.uid`` (the stable id of the rating); before 0008: hall + ticket id
project_no         办件编号             ``case_links.project_no`` (``POST /api/windows/{n}/case-link``)
item_code          事项编码             ``case_links.item_code`` (same call)
agency_code        实施机构编码          ``HALLQ_HAOCHAPING_AGENCY_CODE``
agency_name        实施机构             ``HALLQ_HAOCHAPING_AGENCY_NAME`` or ``hall.name`` of the config
window_no          窗口 (编号)          ``ratings.window``
window_name        窗口 (名称)          ``windows[].name`` / label of the config
staff_no           工作人员工号          ``ratings.clerk``: the account at the window (its username is the 工号)
level              评价等级 (1–5)       ``ratings.level`` (5 非常满意 … 1 非常不满意)
level_label        评价等级 (文字)       ``server/queue/enums.py`` ``RATING_LEVELS``
reason_codes       评价内容 (代码)       ``ratings.reasons`` (差评 reasons; [] for other levels)
reason_labels      评价内容 (名称)       the names of those codes in ``ratings.reasons`` of the hall config
reason_text        评价内容 (文字)       ``ratings.text``: the citizen's free text, or null
channel            评价渠道             ``ratings.source`` mapped: evaluator/keypad → 现场评价器,
                                       window/kiosk → 平板, web (phone page)/qr → 二维码, sms → 短信, else 其他
channel_code       (渠道原值)           ``ratings.source`` as stored
evaluated_at       评价时间             ``ratings.at``, ISO 8601 in the hall's time zone
real_name          实名/匿名             true when the ticket was issued with an ID card (``tickets.masked_id``)
masked_id          证件号码 (脱敏)       ``tickets.masked_id`` — never the full number, which hallq does not keep
masked_name        姓名 (脱敏)          ``tickets.masked_name``
service_code/name  (事项/业务)           ``tickets.service`` and the config's service name
ticket_number      (号票)              ``tickets.number``
business_day       (业务日)            ``tickets.business_day``
=================  ==================  ===========================================================

A province adapter maps this record to its own schema; the generic adapter sends it as is.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from server.config import HallConfig
from server.queue.enums import RATING_LEVELS
from server.ratings.reasons import reasons_of

# The Chinese name of every key of the record (the GB/T 39735 list; docs/haochaping.md says
# what could and could not be sourced): a province adapter renames keys with it or with its own schema.
FIELD_NAMES: dict[str, str] = {
    "evaluation_id": "评价编号", "project_no": "办件编号", "item_code": "事项编码", "agency_code": "实施机构编码",
    "agency_name": "实施机构", "window_no": "窗口编号", "window_name": "窗口名称", "staff_no": "工作人员工号",
    "level": "评价等级", "level_label": "评价等级名称", "reason_codes": "评价内容代码", "reason_labels": "评价内容",
    "reason_text": "评价内容文字", "channel": "评价渠道", "channel_code": "渠道原值", "evaluated_at": "评价时间",
    "real_name": "实名评价", "masked_id": "证件号码（脱敏）", "masked_name": "姓名（脱敏）",
    "service_code": "业务编码", "service_name": "业务名称", "ticket_number": "号票", "business_day": "业务日",
}

CHANNELS: dict[str, str] = {
    "evaluator": "现场评价器", "keypad": "现场评价器",
    "window": "平板", "kiosk": "平板",
    "web": "二维码", "qr": "二维码",  # the citizen's phone page is opened from the ticket's QR
    "sms": "短信",
}


def rating_key(hall_code: str, rating: Any) -> str:
    """The idempotency key and 评价编号 of a rating: its stable ``uid``, else hall + ticket (一次一评)."""
    uid = getattr(rating, "uid", None)
    return str(uid) if uid else f"{hall_code}-T{rating.ticket_id}-R"


def _reasons(rating: Any) -> tuple[list[str], str | None]:
    """The 评价内容 of a rating row, when the ratings table has them (codes as a JSON list or CSV)."""
    raw = getattr(rating, "reasons", None)
    codes: list[str] = []
    if isinstance(raw, str) and raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.split(",")
        codes = [str(c) for c in parsed] if isinstance(parsed, list) else [str(parsed)]
    elif isinstance(raw, list):
        codes = [str(c) for c in raw]
    text = getattr(rating, "text", None)
    return codes, str(text) if text else None


def build_record(*, key: str, rating: Any, ticket: Any, link: Any | None, config: HallConfig,
                 agency_code: str, agency_name: str) -> dict[str, Any]:
    """The upload record of one rating from its rows (``ratings``, ``tickets``, ``case_links``)."""
    tz = ZoneInfo(config.hall.timezone)
    window = config.window_map.get(rating.window) if rating.window is not None else None
    service = config.service_map.get(ticket.service)
    codes, text = _reasons(rating)
    names = {r.code: r.name for r in reasons_of(config)}
    return {
        "evaluation_id": key,
        "project_no": link.project_no if link is not None else None,
        "item_code": link.item_code if link is not None else None,
        "agency_code": agency_code or None,
        "agency_name": agency_name or config.hall.name,
        "window_no": rating.window,
        "window_name": (window.label) if window is not None else None,
        "staff_no": rating.clerk,
        "level": int(rating.level),
        "level_label": RATING_LEVELS.get(int(rating.level), ""),
        "reason_codes": codes,
        "reason_labels": [names.get(code, code) for code in codes],
        "reason_text": text,
        "channel": CHANNELS.get(rating.source, "其他"),
        "channel_code": rating.source,
        "evaluated_at": dt.datetime.fromtimestamp(rating.at / 1000, tz).isoformat(timespec="seconds"),
        "real_name": bool(ticket.masked_id),
        "masked_id": ticket.masked_id,
        "masked_name": ticket.masked_name,
        "service_code": ticket.service,
        "service_name": service.name if service is not None else ticket.service,
        "ticket_number": ticket.number,
        "business_day": ticket.business_day,
    }
