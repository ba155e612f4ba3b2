"""SMS notice routes: a citizen's number for a ticket, the supervisors' outbox, the modem host's claims.

- ``POST /api/tickets/by-token/{token}/notify`` ``{"mobile"}`` (public: the ticket token is the
  holder's credential) → the masked number and the thresholds; ``DELETE`` erases it.
- ``GET /api/notices`` (supervisor, admin): counts per state and the newest notices, masked;
  ``POST /api/notices/{id}/retry`` puts a failed one back.
- ``POST /api/notices/claim``, ``/api/notices/{id}/settle``, ``/api/notices/delivered`` (device):
  the device host that owns the GSM modem sends the ``modem`` notices (server/notices/modem.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from server.auth.roles import Principal, Role, allow, public
from server.errors import Unavailable
from server.http.problems import responses
from server.notices import outbox
from server.notices.service import LEASE_MS, NoticeService
from server.services import services_of

router = APIRouter(tags=["notices"])
Supervisor = Annotated[Principal, Depends(allow(Role.SUPERVISOR, Role.ADMIN))]
DeviceHost = Annotated[Principal, Depends(allow(Role.DEVICE))]  # only a host gets full numbers
NoticeId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Token = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


def _notices(request: Request) -> NoticeService:
    service = services_of(request).notices
    if service is None:
        raise Unavailable("短信提醒服务未启动", "Notices are not running", code="notices_unavailable")
    return service


class NotifyIn(BaseModel):
    """A mobile number for 即将到号 / 请到X号窗口 texts."""

    model_config = ConfigDict(extra="forbid")
    mobile: str = Field(min_length=5, max_length=20)


@router.post("/api/tickets/by-token/{token}/notify", summary="SMS notices for my ticket (短信提醒)",
             responses=responses(404, 409, 422),
             dependencies=[Depends(public("the token is its holder's credential"))])  # fmt: skip
async def notify_me(request: Request, token: Token, body: NotifyIn) -> dict[str, Any]:
    """Keep the number until the ticket ends (then it is erased); answers the masked form."""
    return await _notices(request).attach_ticket(token, body.mobile)


@router.delete("/api/tickets/by-token/{token}/notify", status_code=204, summary="No SMS for my ticket",
               responses=responses(404), dependencies=[Depends(public("the token is its holder's credential"))])
async def stop_notify(request: Request, token: Token) -> Response:
    """Cancel the notices of the ticket and erase the number now."""
    await _notices(request).detach_ticket(token)
    return Response(status_code=204)


@router.get("/api/notices", summary="SMS notices outbox (短信发送记录)", responses=responses(422))
async def list_notices(
    request: Request,
    principal: Supervisor,
    state: Annotated[Literal[outbox.STATES] | None, Query()] = None,  # type: ignore[valid-type]
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Counts per state and the newest notices; failed ones carry ``last_error``."""
    return await _notices(request).status(state=state, limit=limit)


@router.post("/api/notices/{notice_id}/retry", status_code=204, summary="Send a failed notice again",
             responses=responses(404, 409))
async def retry_notice(request: Request, principal: Supervisor, notice_id: NoticeId) -> Response:
    """Back in the queue now (its number must still be kept)."""
    await _notices(request).retry(notice_id)
    return Response(status_code=204)


# --- the device host that owns the modem --------------------------------------------------------


class ClaimIn(BaseModel):
    """Which channel's notices the host sends, and how many at once."""

    model_config = ConfigDict(extra="forbid")
    channel: Literal["modem"] = "modem"
    sender: str = Field(min_length=1, max_length=64)
    limit: int = Field(default=5, ge=1, le=50)


class SettleIn(BaseModel):
    """How one claimed send ended."""

    model_config = ConfigDict(extra="forbid")
    sender: str = Field(min_length=1, max_length=64)
    sent: bool
    error: str | None = Field(default=None, max_length=400)
    refs: str | None = Field(default=None, max_length=64)
    permanent: bool = False


class DeliveredIn(BaseModel):
    """A modem status report."""

    model_config = ConfigDict(extra="forbid")
    ref: int = Field(ge=0, le=255)
    status: int = Field(ge=0, le=255)
    delivered: bool


@router.post("/api/notices/claim", summary="Claim due modem notices (device host)", responses=responses(422))
async def claim_notices(request: Request, principal: DeviceHost, body: ClaimIn) -> dict[str, Any]:
    """Due notices of the channel, each claimed for ``sender``, with the full number to send to."""
    return {"notices": await _notices(request).claim(body.channel, body.sender, body.limit, lease_ms=LEASE_MS)}


@router.post("/api/notices/{notice_id}/settle", status_code=204, summary="Report a modem send (device host)",
             responses=responses(404, 422))
async def settle_notice(request: Request, principal: DeviceHost, notice_id: NoticeId, body: SettleIn) -> Response:
    """Sent (with the TP-MRs), or failed with the error: retried with backoff unless ``permanent``."""
    await _notices(request).settle_remote(notice_id, body.sender, sent=body.sent, error=body.error, refs=body.refs,
                                          permanent=body.permanent)  # fmt: skip
    return Response(status_code=204)


@router.post("/api/notices/delivered", status_code=204, summary="A modem delivery report (device host)",
             responses=responses(422))
async def notice_delivered(request: Request, principal: DeviceHost, body: DeliveredIn) -> Response:
    """Mark the notice quoting this TP-MR delivered (or failed)."""
    await _notices(request).delivery_report(body.ref, body.status, delivered=body.delivered)
    return Response(status_code=204)
