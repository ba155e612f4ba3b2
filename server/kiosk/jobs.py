"""Ticket print jobs (table ``print_jobs``): pending → printing → done | failed.

A kiosk ticket gets one job (server/kiosk/service.py). The device host owning the kiosk's
printer claims it with a conditional update (``WHERE state = 'pending'``), so a ticket is
printed at most once however many hosts or workers hear ``print.requested``; the issuing
route gives up on a job nobody claimed in time the same way, so a late host cannot print a
ticket the kiosk already told the citizen to photograph.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from server.errors import NotFound
from server.queue.events import DataEvent, EventType
from server.queue.views import TicketView
from server.store.tables import print_jobs, tickets

if TYPE_CHECKING:
    from server.store import QueueStore

HOST_TOPIC = "host"  # what device hosts follow (every committed queue event and print requests)


class PrintState(StrEnum):
    """Where a print job is."""

    PENDING = "pending"
    PRINTING = "printing"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PrintStatus:
    """How printing a kiosk ticket went, as the kiosk route answers it."""

    state: PrintState
    fault: str | None = None

    @property
    def printed(self) -> bool:
        """The ticket is on paper."""
        return self.state is PrintState.DONE

    def to_dict(self) -> dict[str, Any]:
        """``{"state", "printed", "fault"}``."""
        return {"state": self.state.value, "printed": self.printed, "fault": self.fault}


@dataclass(frozen=True, slots=True)
class PrintJob:
    """A claimed job: the ticket to print and its token (it goes on paper as the QR link)."""

    id: int
    kiosk: str
    ticket: TicketView
    token: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the claim route's answer)."""
        return {"id": self.id, "kiosk": self.kiosk, "ticket": self.ticket.to_dict(), "token": self.token}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrintJob:
        """The inverse of ``to_dict``."""
        return cls(int(data["id"]), str(data["kiosk"]), TicketView.from_dict(data["ticket"]), str(data["token"]))


def unknown_job(job_id: int) -> NotFound:
    """404 for a print job that does not exist."""
    return NotFound(f"没有此打印任务：{job_id}", f"Unknown print job: {job_id}", code="unknown_print_job",
                    job=job_id)


class PrintJobs:
    """The store side of print jobs (synchronous: run it on the store's threads)."""

    def __init__(self, store: QueueStore) -> None:
        self.store = store

    def create(self, ticket_id: int, kiosk: str, fault: str | None = None) -> tuple[int, tuple[Any, ...]]:
        """A pending job announced as ``print.requested`` on topic ``host``; with ``fault``, failed at once."""
        with self.store._tx() as tx:
            state = PrintState.PENDING if fault is None else PrintState.FAILED
            job_id = int(tx.conn.execute(insert(print_jobs).values(
                ticket_id=ticket_id, kiosk=kiosk, state=state.value, fault=fault, created_at=tx.ms,
                updated_at=tx.ms).returning(print_jobs.c.id)).scalar_one())
            if fault is None:
                tx.emit(EventType.PRINT_REQUESTED, (HOST_TOPIC,),
                        DataEvent({"job": job_id, "kiosk": kiosk, "ticket_id": ticket_id}))
        return job_id, tuple(tx.events)

    def claim(self, job_id: int) -> PrintJob | None:
        """pending → printing for exactly one caller; None when another took it (or it was given up)."""
        c = print_jobs.c
        with self.store._tx() as tx:
            row = tx.conn.execute(update(print_jobs).where((c.id == job_id) & (c.state == PrintState.PENDING.value))
                                  .values(state=PrintState.PRINTING.value, updated_at=tx.ms)
                                  .returning(c.id, c.kiosk, c.ticket_id)).first()
            if row is None:
                if tx.conn.execute(select(c.id).where(c.id == job_id)).first() is None:
                    raise unknown_job(job_id)
                return None
            token = tx.conn.execute(select(tickets.c.token).where(tickets.c.id == row.ticket_id)).scalar_one()
        return PrintJob(int(row.id), str(row.kiosk), self.store.get_ticket(int(row.ticket_id)), str(token))

    def finish(self, job_id: int, *, printed: bool, fault: str | None) -> tuple[PrintStatus, tuple[Any, ...]]:
        """printing → done | failed (announced as ``print.done``); a finished job keeps its first result."""
        c = print_jobs.c
        state = PrintState.DONE if printed else PrintState.FAILED
        fault = None if printed else (fault or "print_error")
        with self.store._tx() as tx:
            row = tx.conn.execute(update(print_jobs).where((c.id == job_id) & (c.state == PrintState.PRINTING.value))
                                  .values(state=state.value, fault=fault, updated_at=tx.ms)
                                  .returning(c.kiosk, c.ticket_id)).first()
            if row is not None:
                tx.emit(EventType.PRINT_DONE, (HOST_TOPIC,), DataEvent(
                    {"job": job_id, "kiosk": row.kiosk, "ticket_id": row.ticket_id, "printed": printed,
                     "fault": fault}))
        status = self.status(job_id) if row is None else PrintStatus(state, fault)
        return status, tuple(tx.events)

    def give_up(self, job_id: int, fault: str) -> PrintStatus:
        """pending → failed with ``fault`` when nobody claimed the job in time; the job's state otherwise."""
        c = print_jobs.c
        with self.store._tx() as tx:
            tx.conn.execute(update(print_jobs).where((c.id == job_id) & (c.state == PrintState.PENDING.value))
                            .values(state=PrintState.FAILED.value, fault=fault, updated_at=tx.ms))
        return self.status(job_id)

    def status(self, job_id: int) -> PrintStatus:
        """The job's state and fault."""
        with self.store._read() as conn:
            row = conn.execute(select(print_jobs.c.state, print_jobs.c.fault).where(print_jobs.c.id == job_id)).first()
        if row is None:
            raise unknown_job(job_id)
        return PrintStatus(PrintState(row.state), row.fault)
