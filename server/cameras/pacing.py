"""When a camera's waiting-area head count runs: not on every analysis, and not on a still picture.

The seats are cheap to read (a few small crops against their references, ~1 ms) and run
every ``analyze_every``. The head count (OpenCV's HOG people detector, ~70–90 ms of CPU on a
640×480 frame) is what made an idle demo hall use 7–9 % of a core (bench/bench_footprint.py),
yet the only rule it feeds, crowding (server/cameras/alerts.py ``CrowdWatch``), waits
``crowd_after`` / ``crowd_clear_after`` seconds (30 / 60 in the demo) before it says anything.
So a count runs when

* the last one is older than ``count_every(options)`` — a third of the shorter of those two
  holds (never more often than the analysis), and the waiting area looks different from the
  frame the last count was made on (a frame-difference gate on a small grey copy of the area:
  an unchanged picture holds the same people), or
* the last one is older than ``REFRESH_SECONDS`` whatever the picture (a gate that missed a
  change is corrected within that time), or there was none yet.

Between counts the summary repeats the last count with ``people_at`` — when it was made —
so what a page shows says its age; it is never an estimate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drivers.camera.options import CameraOptions, Rect

if TYPE_CHECKING:  # numpy/OpenCV load with the first camera, not with the server
    import numpy as np

REFRESH_SECONDS = 60.0
GATE_SCALE = 8  # the area shrunk 8× each way: sensor noise averages out, a person stays dozens of pixels
GATE_LEVEL = 12  # grey difference (0–255) of a shrunk pixel that counts as changed
GATE_SHARE = 0.003  # changed share of the shrunk area that means "the picture changed"


def count_every(options: CameraOptions) -> float:
    """Seconds between head counts while the waiting area changes."""
    return max(options.analyze_every, min(options.crowd_after, options.crowd_clear_after) / 3)


def signature(image: np.ndarray, rect: Rect) -> np.ndarray:
    """A small grey copy of the region ``rect`` (x, y, w, h) of a BGR frame."""
    import cv2

    x, y, w, h = rect
    crop = image[max(0, y) : y + h, max(0, x) : x + w]
    if crop.size == 0:
        return crop
    size = (max(1, crop.shape[1] // GATE_SCALE), max(1, crop.shape[0] // GATE_SCALE))
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def changed(current: np.ndarray, previous: np.ndarray | None) -> bool:
    """Whether two signatures differ by more than noise (always True without a previous one)."""
    import cv2
    import numpy as np

    if previous is None or current.shape != previous.shape or current.size == 0:
        return True
    moved = int(np.count_nonzero(cv2.absdiff(current, previous) > GATE_LEVEL))
    return moved >= max(1.0, GATE_SHARE * current.size)


class CountPacer:
    """Decides, frame by frame, whether one camera's head count runs now."""

    def __init__(self, options: CameraOptions) -> None:
        self.rect = options.waiting_area
        self.every = count_every(options)
        self.counted_at: float | None = None
        self.seen: Any = None  # signature of the frame of the last count
        self.counts = 0  # head counts run (tests and the footprint bench read it)
        self.skipped_still = 0  # counts skipped because the picture had not changed

    def due(self, now: float, image: np.ndarray) -> bool:
        """Whether to count on ``image`` at ``now`` (call ``counted`` after counting)."""
        if self.rect is None:
            return False
        if self.counted_at is None or now - self.counted_at >= REFRESH_SECONDS or now < self.counted_at:
            return True
        if now - self.counted_at < self.every:
            return False
        if changed(signature(image, self.rect), self.seen):
            return True
        self.skipped_still += 1
        return False

    def counted(self, now: float, image: np.ndarray) -> None:
        """A count ran on ``image`` at ``now``."""
        self.counted_at = now
        self.seen = signature(image, self.rect) if self.rect is not None else None
        self.counts += 1
