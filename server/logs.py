"""Log set-up of every hallq process: plain text for a terminal, or one JSON object per line.

``HALLQ_LOG_FORMAT=json`` (or ``hallq serve --log-format json``) gives lines a log shipper
(journald, Loki, Filebeat) parses without patterns::

    {"ts": "2026-12-01T09:30:00.123+00:00", "level": "INFO", "logger": "hallq.devices",
     "message": "printer-k1 available again", "request_id": "3f2a…", "pid": 4242}

``request_id`` is the id of the HTTP request being served (``server/http/request_ids.py``).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime

from server.http.request_ids import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Put the current request id (or "-") on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate; never drops a record."""
        record.request_id = current_request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line (exceptions as text in ``exc``)."""
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) if getattr(record, "request_id", "-") != "-" else None,
            "pid": record.process,
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(level: str = "info", fmt: str | None = None) -> None:
    """Configure the root logger (and uvicorn's) once per process; ``fmt``: ``text`` or ``json``."""
    fmt = (fmt or os.environ.get("HALLQ_LOG_FORMAT") or "text").lower()
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []  # through the root handler: one format for every line
        logger.propagate = True
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations log every plugin at INFO
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the device host's every API call otherwise
