"""The 差评 case (差评闭环台账) state machine: who may move a case where, and what each step needs.

::

    待核实 pending ─verify→ 核实中 verifying ─rectify→ 整改中 rectifying ─reply→ 已回复 replied ─close→ 已办结 closed
       └──────────────┴────────────appeal→ 申诉中 appealed ─decide upheld→ 已办结 (outcome appeal_upheld)
                                                        └─decide rejected→ the state it was appealed from

``rectify`` records the verification finding (核实结果), ``reply`` the answer to the citizen,
``close`` the 回访 (callback) and its result. Deadlines (working days, server/ratings/calendar.py):
verification is due ``ratings.verify_days`` after the case opened (met when it leaves 待核实/核实中),
rectification and the reply ``ratings.rectify_days`` after it opened (met at 已回复). An appeal
does not stop the clock.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from server.errors import Conflict, HallqError


class CaseState(StrEnum):
    """States of a 差评 case."""

    PENDING = "pending"
    VERIFYING = "verifying"
    RECTIFYING = "rectifying"
    REPLIED = "replied"
    CLOSED = "closed"
    APPEALED = "appealed"


STATE_NAMES: dict[str, str] = {"pending": "待核实", "verifying": "核实中", "rectifying": "整改中",
                               "replied": "已回复", "closed": "已办结", "appealed": "申诉中"}
ACTIONS = ("verify", "rectify", "reply", "close", "appeal")
CALLBACK_RESULTS: dict[str, str] = {"satisfied": "满意", "unsatisfied": "不满意", "unreachable": "未联系上"}
VERIFY_OPEN = (CaseState.PENDING.value, CaseState.VERIFYING.value)
RECTIFY_OPEN = (CaseState.PENDING.value, CaseState.VERIFYING.value, CaseState.RECTIFYING.value,
                CaseState.APPEALED.value)
_FORWARD: dict[str, tuple[str, str]] = {  # action -> (from, to)
    "verify": (CaseState.PENDING.value, CaseState.VERIFYING.value),
    "rectify": (CaseState.VERIFYING.value, CaseState.RECTIFYING.value),
    "reply": (CaseState.RECTIFYING.value, CaseState.REPLIED.value),
    "close": (CaseState.REPLIED.value, CaseState.CLOSED.value),
}
APPEALABLE = (CaseState.PENDING.value, CaseState.VERIFYING.value, CaseState.RECTIFYING.value)


class CaseInputError(HallqError):
    """A case step missing what it needs (422)."""

    status = 422


def _need(body: dict[str, Any], field: str, action: str) -> str:
    value = str(body.get(field) or "").strip()
    if not value:
        raise CaseInputError(f"请填写{field}", f"{action} needs {field!r}", code="case_field_required",
                             field=field, action=action)
    return value


def step(state: str, before_appeal: str | None, action: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The new state and the step's stored detail; raises 409 ``invalid_case_step`` or 422."""
    if action not in ACTIONS:
        raise CaseInputError(f"未知操作：{action}", f"Unknown case action {action!r}", code="invalid_request")
    if action in _FORWARD:
        src, dst = _FORWARD[action]
        if state != src:
            raise invalid_step(state, action)
        detail: dict[str, Any] = {"note": str(body.get("note") or "").strip() or None}
        if action == "rectify":
            detail["finding"] = _need(body, "finding", action)
        elif action == "reply":
            detail["reply"] = _need(body, "reply", action)
        elif action == "close":
            result = _need(body, "callback_result", action)
            if result not in CALLBACK_RESULTS:
                raise CaseInputError("回访结果应为满意、不满意或未联系上", f"Unknown callback_result {result!r}",
                                     code="invalid_request", field="callback_result")
            detail["callback_result"] = result
        return dst, detail
    # appeal: file it, or decide it
    if state in APPEALABLE:
        return CaseState.APPEALED.value, {"appeal": _need(body, "reason", action), "from": state}
    if state == CaseState.APPEALED.value:
        decision = _need(body, "decision", action)
        if decision not in ("upheld", "rejected"):
            raise CaseInputError("申诉结论应为成立或不成立", f"decision must be upheld|rejected, not {decision!r}",
                                 code="invalid_request", field="decision")
        note = _need(body, "note", action)
        back = CaseState.CLOSED.value if decision == "upheld" else (before_appeal or CaseState.PENDING.value)
        return back, {"decision": decision, "note": note}
    raise invalid_step(state, action)


def invalid_step(state: str, action: str) -> Conflict:
    """The case's state does not allow this step."""
    return Conflict(f"案件处于{STATE_NAMES.get(state, state)}，不能执行此操作",
                    f"A case in state {state} cannot {action}", code="invalid_case_step", state=state, action=action)
