"""Options of a camera device entry (shared by the driver, the simulator and the wiring)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Rect = tuple[int, int, int, int]  # x, y, w, h in the coordinates of the (resized) frame

# The simulator's default scene (640×480): four window desks, a waiting area below.
DEFAULT_SEATS: dict[int, Rect] = {n: (160 * (n - 1) + 40, 36, 80, 88) for n in range(1, 5)}
DEFAULT_WAITING_AREA: Rect = (0, 172, 640, 308)


class CameraOptions(BaseModel):
    """Capture, analytics, alert and video-wall settings of one camera."""

    model_config = ConfigDict(extra="forbid")

    # capture
    fps: float = Field(default=10.0, gt=0, le=60, description="frames kept per second (newest wins)")
    width: int | None = Field(default=None, ge=16, description="resize kept frames to this width")
    height: int | None = Field(default=None, ge=16)
    open_timeout: float = Field(default=5.0, gt=0, description="seconds to open the stream")
    read_timeout: float = Field(default=5.0, gt=0, description="seconds without a frame before reconnecting")
    stale_after: float = Field(default=3.0, gt=0, description="seconds without a frame before health is offline")
    loop_file: bool = True
    # analytics
    seats: dict[int, Rect] = Field(default_factory=dict, description="window number -> seat region")
    waiting_area: Rect | None = None
    analyze_every: float = Field(default=2.0, gt=0, description="seconds between analyses")
    seat_enter: float = Field(default=0.12, gt=0, lt=1, description="changed share that means occupied")
    seat_exit: float = Field(default=0.06, gt=0, lt=1, description="changed share that means empty again")
    occupancy: Literal["hog", "foreground", "off"] = "hog"
    hog_resize: float = Field(default=0.8, gt=0.1, le=2.0, description="HOG runs on the area scaled by this")
    hog_hit_threshold: float = 0.0
    person_area: int = Field(default=5000, gt=0, description="foreground estimator: pixels per person")
    # When to freeze a missing empty-seat reference by itself: while the window is closed
    # ("closed_windows"), from the first frame ("first_frame": seats known empty at start,
    # e.g. the demo scene), or never ("off": POST /api/cameras/{id}/reference only).
    auto_reference: Literal["closed_windows", "first_frame", "off"] = "closed_windows"
    # alerts
    absent_after: float = Field(default=120.0, gt=0, description="seconds of empty seat before clerk_absent")
    present_after: float = Field(default=5.0, ge=0)
    crowd_threshold: int = Field(default=10, ge=1)
    crowd_clear_below: int | None = None
    crowd_after: float = Field(default=30.0, ge=0)
    crowd_clear_after: float = Field(default=60.0, ge=0)
    # video wall
    stream_fps: float = Field(default=5.0, gt=0, le=30)
    stream_width: int = Field(default=640, ge=64)
    jpeg_quality: int = Field(default=70, ge=10, le=100)
    # simulator only
    scenario: str | dict[str, object] = "demo"
    speed: float = Field(default=1.0, gt=0, description="simulated seconds per real second")

    @field_validator("seats")
    @classmethod
    def _check_seats(cls, seats: dict[int, Rect]) -> dict[int, Rect]:
        for number, (_x, _y, w, h) in seats.items():
            if w <= 0 or h <= 0:
                raise ValueError(f"seat of window {number}: width and height must be positive")
        return seats
