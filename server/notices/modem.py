"""The GSM modem's wiring (runs in the device host that owns the modem): claims ``modem`` notices, sends them.

The server only queues notices; the host whose device list holds the ``sms_modem`` claims
the due ``modem`` notices (a conditional update: exactly one sender), sends each with
``GsmModem.send_sms`` and settles it — sent with the modem's TP-MRs, or failed with the
fault (``send_failed``, ``no_network`` …) and retried with backoff by the server's rules.
While the modem is not ready (no SIM, no network, offline) nothing is claimed: the notices
wait in the outbox and go out when the modem is back. Delivery reports (``+CDS``) mark the
notice delivered or failed.

Two clients, one wiring: in ``hallq serve`` (embedded host) the NoticeService itself; in
``hallq devices`` the server's ``/api/notices/claim|settle|delivered`` routes with the
host's device token (server/api/notices.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from server.queue.events import Event

log = logging.getLogger("hallq.notices.modem")

KIND = "sms_modem"


class NoticeClient(Protocol):
    """Claim, settle and report delivery of modem notices."""

    async def claim(self, sender: str, limit: int) -> list[dict[str, Any]]: ...

    async def settle(self, notice_id: int, sender: str, *, sent: bool, error: str | None, refs: str | None) -> None: ...

    async def delivered(self, ref: int, status: int, delivered: bool) -> None: ...


class LocalClient:
    """The NoticeService of this process (the embedded device host)."""

    def __init__(self, service: Any) -> None:
        self.service = service

    async def claim(self, sender: str, limit: int) -> list[dict[str, Any]]:
        """Claim due modem notices."""
        claimed: list[dict[str, Any]] = await self.service.claim("modem", sender, limit)
        return claimed

    async def settle(self, notice_id: int, sender: str, *, sent: bool, error: str | None, refs: str | None) -> None:
        """Record a send."""
        await self.service.settle_remote(notice_id, sender, sent=sent, error=error, refs=refs)

    async def delivered(self, ref: int, status: int, delivered: bool) -> None:
        """Record a delivery report."""
        await self.service.delivery_report(ref, status, delivered=delivered)


class RemoteClient:
    """The server's notice routes, through the remote device host's authenticated HTTP client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = await self.client.post(path, json=body)
        response.raise_for_status()
        return response.json() if response.status_code != 204 else None

    async def claim(self, sender: str, limit: int) -> list[dict[str, Any]]:
        """Claim due modem notices."""
        answer = await self._post("/api/notices/claim", {"channel": "modem", "sender": sender, "limit": limit})
        notices: list[dict[str, Any]] = answer["notices"]
        return notices

    async def settle(self, notice_id: int, sender: str, *, sent: bool, error: str | None, refs: str | None) -> None:
        """Record a send."""
        await self._post(f"/api/notices/{notice_id}/settle", {"sender": sender, "sent": sent, "error": error,
                                                               "refs": refs})

    async def delivered(self, ref: int, status: int, delivered: bool) -> None:
        """Record a delivery report."""
        await self._post("/api/notices/delivered", {"ref": ref, "status": status, "delivered": delivered})


def client_for(port: Any, notices: Any = None) -> NoticeClient | None:
    """The client of this host: the service when in-process, the port's HTTP client when remote."""
    if notices is not None:
        return LocalClient(notices)
    client = getattr(port, "client", None)
    return RemoteClient(client) if client is not None else None


class ModemWiring:
    """Sends the ``modem`` notices on this host's GSM modem (Wiring protocol of server/devices/manager.py)."""

    def __init__(self, port: Any, *, notices: Any = None, poll_s: float = 2.0, batch: int = 5) -> None:
        self.port = port
        self.notices = notices
        self.poll_s = poll_s
        self.batch = batch
        self.client: NoticeClient | None = None
        self.modem: Any = None
        self.sender = ""
        self._tasks: list[asyncio.Task[None]] = []
        self.sent = 0

    async def start(self, manager: Any) -> None:
        """Find this host's modem (``notices.modem`` or the first sms_modem); start sending."""
        modems = manager.devices_of_kind(KIND)
        if not modems:
            return
        wanted = manager.config.notices.modem
        chosen = next(((c, d) for c, d in modems if wanted is None or c.id == wanted), None)
        if chosen is None:
            return
        self.client = client_for(self.port, self.notices)
        if self.client is None:
            log.warning("modem %s: no way to reach the notices outbox from this host", chosen[0].id)
            return
        self.modem = chosen[1]
        self.sender = f"modem:{chosen[0].id}:{getattr(self.port, 'label', '') or 'host'}"[:64]
        self._tasks = [asyncio.create_task(self._send_loop(), name=f"notices-{chosen[0].id}"),
                       asyncio.create_task(self._report_loop(), name=f"notices-reports-{chosen[0].id}")]

    async def on_event(self, event: Event) -> None:
        """Queue events are not needed: the outbox is polled (a notice may be queued by any worker)."""

    async def stop(self) -> None:
        """Stop sending."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def tick(self) -> int:
        """Claim and send what is due while the modem is ready; how many were sent."""
        if self.client is None or self.modem is None or not self.modem.health.available:
            return 0  # no SIM / no network / offline: notices wait in the outbox
        sent = 0
        for item in await self.client.claim(self.sender, self.batch):
            result = await self.modem.send_sms(item["phone"], item["text"])
            if result.sent:
                sent += 1
                await self.client.settle(item["id"], self.sender, sent=True, error=None,
                                         refs=",".join(map(str, result.references)))
            else:
                error = f"{result.fault}: {result.detail}" if result.detail else str(result.fault)
                await self.client.settle(item["id"], self.sender, sent=False, error=error, refs=None)
        self.sent += sent
        return sent

    async def _send_loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server unreachable, a modem hiccup: try again next round
                log.warning("modem notices: %s", exc)
            await asyncio.sleep(self.poll_s)

    async def _report_loop(self) -> None:
        reports = self.modem.reports()
        try:
            async for report in reports:
                if report.outcome == "pending" or self.client is None:
                    continue
                with contextlib.suppress(Exception):
                    await self.client.delivered(report.reference, report.status, report.outcome == "delivered")
        finally:
            await reports.aclose()
