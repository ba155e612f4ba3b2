"""Evidence snapshots: dated folders, safe lookup, retention."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from server.cameras.evidence import SnapshotStore


def test_save_resolve_and_purge(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, retention_days=30)
    old = store.save(b"\xff\xd8old", "camera-1", "absent", datetime(2026, 10, 1, 9, 30))
    recent = store.save(b"\xff\xd8new", "camera-1", "rating", datetime(2026, 11, 20, 14, 5, 6, 7))
    assert recent.startswith("2026-11-20/140506-000007-rating-camera-1")
    assert store.resolve(recent) == tmp_path / recent
    assert store.resolve(old) is not None
    (tmp_path / "notes").mkdir()  # not a day folder: left alone
    assert store.purge(today=date(2026, 11, 27)) == 1
    assert store.resolve(old) is None and store.resolve(recent) is not None
    assert (tmp_path / "notes").is_dir()


def test_resolve_refuses_paths_outside(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snaps")
    (tmp_path / "secret.jpg").write_bytes(b"x")
    bad_paths = ("../secret.jpg", "2026-11-20/../../secret.jpg", "2026-11-20/a.png", "x/y.jpg", "2026-11-20/none.jpg")
    for bad in bad_paths:
        assert store.resolve(bad) is None
    assert SnapshotStore(tmp_path / "none").purge() == 0


def test_snapshots_are_private_to_the_hallq_user(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snaps")
    saved = store.save(b"\xff\xd8x", "camera-1", "absent", datetime(2026, 11, 20, 9, 0))
    path = store.resolve(saved)
    assert path is not None
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "snaps").stat().st_mode & 0o777 == 0o700
