"""Per-camera analytics: seat occupancy against a frozen empty-seat reference, and a
waiting-area head count.

Seats: each window's seat region is compared with a reference picture of the empty
seat, taken once and then frozen. Adaptive background subtraction (MOG2) would learn a
clerk who sits still into the background within a minute and report the seat empty.
The share of changed pixels (after removing a global brightness shift) goes through
hysteresis: above ``enter`` means occupied, below ``exit`` means empty again.

Waiting area: OpenCV's default HOG people detector on the area scaled by
``hog_resize``, stride 4 and non-maximum suppression. ``foreground`` is a fallback for
scenes where HOG fails (seated crowds, steep camera angles): changed pixels against a
frozen empty-area reference divided by the typical pixel area of one person.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from drivers.camera.options import CameraOptions, Rect

PIXEL_THRESHOLD = 30  # per-channel difference that counts as "changed"; sensor noise and JPEG stay below


@dataclass(frozen=True)
class SeatReading:
    """One seat at one moment: occupied (None while there is no reference) and the changed share."""

    window: int
    occupied: bool | None
    score: float


@dataclass(frozen=True)
class Analysis:
    """The result of analysing one frame."""

    seats: dict[int, SeatReading]
    people: int | None
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "seats": {str(n): {"occupied": r.occupied, "score": round(r.score, 3)} for n, r in self.seats.items()},
            "people": self.people,
        }


def _crop(image: np.ndarray, rect: Rect) -> np.ndarray:
    x, y, w, h = rect
    return image[max(0, y) : y + h, max(0, x) : x + w]


def changed_share(current: np.ndarray, reference: np.ndarray) -> float:
    """Share of pixels that differ from the reference, ignoring a uniform brightness change."""
    cur = cv2.GaussianBlur(current, (5, 5), 0).astype(np.int16)
    ref = cv2.GaussianBlur(reference, (5, 5), 0).astype(np.int16)
    delta = cur - ref
    shift = np.median(delta.reshape(-1, delta.shape[-1]), axis=0).astype(np.int16)
    diff = np.abs(delta - shift).max(axis=2)
    return float(np.count_nonzero(diff > PIXEL_THRESHOLD)) / diff.size


class SeatMonitor:
    """Occupancy of one seat region with a frozen reference and hysteresis."""

    def __init__(self, window: int, rect: Rect, enter: float = 0.12, exit: float = 0.06) -> None:
        self.window = window
        self.rect = rect
        self.enter = enter
        self.exit = min(exit, enter)
        self.reference: np.ndarray | None = None
        self.occupied: bool | None = None

    def set_reference(self, image: np.ndarray) -> None:
        """Freeze the empty-seat picture from a full frame (the seat must be empty now)."""
        self.reference = _crop(image, self.rect).copy()
        self.occupied = None

    def update(self, image: np.ndarray) -> SeatReading:
        """Compare the frame's seat region with the reference."""
        if self.reference is None:
            return SeatReading(self.window, None, 0.0)
        current = _crop(image, self.rect)
        if current.shape != self.reference.shape:  # resolution changed: the reference is useless
            self.reference = None
            self.occupied = None
            return SeatReading(self.window, None, 0.0)
        score = changed_share(current, self.reference)
        if self.occupied is None:
            self.occupied = score >= (self.enter + self.exit) / 2
        elif self.occupied and score < self.exit:
            self.occupied = False
        elif not self.occupied and score > self.enter:
            self.occupied = True
        return SeatReading(self.window, self.occupied, score)


def _nms(rects: np.ndarray, weights: np.ndarray, overlap: float = 0.3) -> list[tuple[int, int, int, int]]:
    """Greedy non-maximum suppression: keep the strongest box, drop boxes overlapping it."""
    kept: list[tuple[int, int, int, int]] = []
    for i in np.argsort(-weights):
        x, y, w, h = (int(v) for v in rects[i])
        if all(_iou((x, y, w, h), k) <= overlap for k in kept):
            kept.append((x, y, w, h))
    return kept


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)


class PeopleCounter:
    """HOG people detection on a region, at reduced resolution."""

    def __init__(self, rect: Rect, resize: float = 0.8, hit_threshold: float = 0.0) -> None:
        self.rect = rect
        self.resize = resize
        self.hit_threshold = hit_threshold
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))

    def count(self, image: np.ndarray) -> tuple[int, list[tuple[int, int, int, int]]]:
        """People found in the region, and their boxes in frame coordinates."""
        area = _crop(image, self.rect)
        if self.resize != 1.0:
            area = cv2.resize(area, None, fx=self.resize, fy=self.resize, interpolation=cv2.INTER_AREA)
        rects, weights = self._hog.detectMultiScale(
            area, hitThreshold=self.hit_threshold, winStride=(4, 4), padding=(8, 8), scale=1.05
        )
        if len(rects) == 0:
            return 0, []
        x0, y0 = max(0, self.rect[0]), max(0, self.rect[1])
        boxes = [
            (x0 + int(x / self.resize), y0 + int(y / self.resize), int(w / self.resize), int(h / self.resize))
            for x, y, w, h in _nms(np.asarray(rects), np.ravel(weights))
        ]
        return len(boxes), boxes


class ForegroundCounter:
    """Fallback estimate: changed pixels against a frozen empty-area reference / pixels per person."""

    def __init__(self, rect: Rect, person_area: int) -> None:
        self.rect = rect
        self.person_area = person_area
        self.reference: np.ndarray | None = None

    def set_reference(self, image: np.ndarray) -> None:
        """Freeze the empty waiting area."""
        self.reference = _crop(image, self.rect).copy()

    def count(self, image: np.ndarray) -> tuple[int | None, list[tuple[int, int, int, int]]]:
        """Estimated people (None without a reference)."""
        if self.reference is None:
            return None, []
        current = _crop(image, self.rect)
        if current.shape != self.reference.shape:
            return None, []
        share = changed_share(current, self.reference)
        return round(share * current.shape[0] * current.shape[1] / self.person_area), []


class CameraAnalytics:
    """All analytics of one camera; ``analyze`` is CPU-bound, run it off the event loop."""

    def __init__(self, options: CameraOptions) -> None:
        self.options = options
        self.seats = {
            n: SeatMonitor(n, rect, options.seat_enter, options.seat_exit) for n, rect in options.seats.items()
        }
        self.hog: PeopleCounter | None = None
        self.foreground: ForegroundCounter | None = None
        if options.waiting_area is not None and options.occupancy == "hog":
            self.hog = PeopleCounter(options.waiting_area, options.hog_resize, options.hog_hit_threshold)
        elif options.waiting_area is not None and options.occupancy == "foreground":
            self.foreground = ForegroundCounter(options.waiting_area, options.person_area)

    def has_reference(self, window: int) -> bool:
        """Whether the seat of ``window`` has its empty reference."""
        seat = self.seats.get(window)
        return seat is not None and seat.reference is not None

    def set_reference(self, image: np.ndarray, windows: Iterable[int] | None = None, area: bool = False) -> None:
        """Freeze references from ``image``: the given seats (default all) and optionally the waiting area."""
        for n in self.seats if windows is None else windows:
            if n in self.seats:
                self.seats[n].set_reference(image)
        if area and self.foreground is not None:
            self.foreground.set_reference(image)

    def analyze(self, image: np.ndarray, count_people: bool = True) -> Analysis:
        """Seat readings and (optionally) the waiting-area count for one frame."""
        seats = {n: seat.update(image) for n, seat in self.seats.items()}
        people: int | None = None
        boxes: list[tuple[int, int, int, int]] = []
        if count_people and self.hog is not None:
            people, boxes = self.hog.count(image)
        elif count_people and self.foreground is not None:
            people, boxes = self.foreground.count(image)
        return Analysis(seats, people, boxes)

    # --- persistence: references survive restarts --------------------------------------

    def save_references(self, directory: Path) -> None:
        """Write every reference as PNG under ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        for n, seat in self.seats.items():
            if seat.reference is not None:
                cv2.imwrite(str(directory / f"seat-{n}.png"), seat.reference)
        if self.foreground is not None and self.foreground.reference is not None:
            cv2.imwrite(str(directory / "waiting-area.png"), self.foreground.reference)

    def load_references(self, directory: Path) -> list[int]:
        """Read saved references whose size still matches; returns the windows loaded."""
        loaded = []
        for n, seat in self.seats.items():
            path = directory / f"seat-{n}.png"
            image = cv2.imread(str(path)) if path.exists() else None
            if image is not None and image.shape[:2] == (seat.rect[3], seat.rect[2]):
                seat.reference = image
                seat.occupied = None
                loaded.append(n)
        path = directory / "waiting-area.png"
        if self.foreground is not None and path.exists():
            self.foreground.reference = cv2.imread(str(path))
        return loaded
