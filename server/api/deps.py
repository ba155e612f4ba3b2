"""Moved to ``server/deps.py``; these names stay importable while the routers move over."""

from server.deps import MAX_ID, HallDep, TicketId, WindowNumber, get_hall

Hall = HallDep

__all__ = ["MAX_ID", "Hall", "HallDep", "TicketId", "WindowNumber", "get_hall"]
