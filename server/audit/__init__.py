"""The audit trail (一事一档) read model: ``query`` and ``to_csv`` (``server/audit/trail.py``)."""

from server.audit.trail import CSV_COLUMNS, MAX_ROWS, query, to_csv

__all__ = ["CSV_COLUMNS", "MAX_ROWS", "query", "to_csv"]
