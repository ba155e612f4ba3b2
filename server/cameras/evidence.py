"""Evidence snapshots on disk: ``<root>/YYYY-MM-DD/HHMMSS-ffffff-<kind>-<camera>.jpg`` with retention.

Snapshots show people at their desks: folders are created 0700 and files 0600, so only the
hallq user reads them (supervisors see them through ``GET /api/snapshots/…``).
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class SnapshotStore:
    """Saves JPEG snapshots by day and deletes days older than ``retention_days``."""

    def __init__(self, root: Path | str, retention_days: int = 30) -> None:
        self.root = Path(root)
        self.retention_days = retention_days

    def save(self, jpeg: bytes, camera: str, kind: str, when: datetime | None = None) -> str:
        """Write one snapshot; returns its path relative to the root (``2026-11-27/…jpg``)."""
        when = when or datetime.now()
        day = self.root / when.strftime("%Y-%m-%d")
        for folder in (self.root, day):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{when.strftime('%H%M%S-%f')}-{_SAFE.sub('_', kind)}-{_SAFE.sub('_', camera)}.jpg"
        path = day / name
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(jpeg)
        tmp.replace(path)  # readers never see half a file
        return f"{day.name}/{name}"

    def resolve(self, relative: str) -> Path | None:
        """The file for a relative path from ``save``; None unless it is a snapshot inside the root."""
        parts = relative.split("/")
        if len(parts) != 2 or not _DAY.match(parts[0]) or not parts[1].endswith(".jpg") or _SAFE.search(parts[1]):
            return None
        path = self.root / parts[0] / parts[1]
        return path if path.is_file() else None

    def purge(self, today: date | None = None) -> int:
        """Delete day folders older than the retention; returns how many were removed."""
        if not self.root.is_dir():
            return 0
        cutoff = (today or date.today()) - timedelta(days=self.retention_days)
        removed = 0
        for entry in self.root.iterdir():
            if not entry.is_dir() or not _DAY.match(entry.name):
                continue
            try:
                day = date.fromisoformat(entry.name)
            except ValueError:
                continue
            if day < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        return removed
