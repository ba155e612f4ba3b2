"""A synthetic hall scene for the camera simulator, with scripted scenarios and ground truth.

The frame (640×480) shows four window desks along the top, each with a chair and a
clerk who sits, leaves and comes back, and a tiled waiting area below where citizens
stand in two staggered rows or pace in place. People are drawn as human silhouettes
at 128–140 px so OpenCV's default HOG people detector finds them; the tiled floor
matters: on a flat background HOG's block normalisation loses the figures.
Everything is a pure function of the simulated time ``t``, so tests can jump to any
moment without sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

WIDTH, HEIGHT = 640, 480
WALL = (215, 225, 230)
FLOOR = (200, 205, 210)
GRID = (160, 165, 170)
DESK = (60, 95, 140)
CHAIR = (40, 40, 45)
FLOOR_TOP = 168
DESK_TOP = 124
# (centre x, feet y, height): a back row and a front row that never overlap.
SLOTS: tuple[tuple[int, int, int], ...] = tuple(
    [(x, 330, 128) for x in (55, 165, 275, 385, 495, 595)] + [(x, 475, 140) for x in (110, 220, 330, 440, 550)]
)
CLOTHES = ((60, 60, 140), (140, 70, 40), (40, 110, 60), (90, 90, 90), (30, 30, 30), (150, 120, 60), (120, 40, 120))
SKIN = (150, 180, 215)


class Scenario(BaseModel):
    """A script: when each clerk is away and how many citizens wait, in simulated seconds."""

    model_config = ConfigDict(extra="forbid")

    name: str = "custom"
    duration: float = Field(default=600.0, gt=0)
    loop: bool = True
    windows: int = Field(default=4, ge=1, le=4)
    on_duty: list[int] | None = None  # windows with a clerk at all; None = every window
    absences: dict[int, list[tuple[float, float]]] = Field(default_factory=dict)  # window -> [(leave, back)]
    crowd: list[tuple[float, int]] = Field(default_factory=lambda: [(0.0, 3)])  # step function (from t, count)
    seed: int = 7


SCENARIOS: dict[str, Scenario] = {
    "demo": Scenario(
        # clerks arrive in the first 20 s (the empty-seat reference is taken before that)
        name="demo", duration=600,
        absences={1: [(0, 20)], 2: [(0, 20), (60, 240)], 3: [(0, 20)], 4: [(0, 20), (300, 420)]},
        crowd=[(0, 2), (60, 5), (150, 9), (300, 6), (420, 3), (520, 1)],
    ),
    "still": Scenario(name="still", duration=3600, crowd=[(0, 4)]),
    "absence": Scenario(name="absence", duration=900, absences={2: [(30, 330)]}, crowd=[(0, 3)]),
    "crowd": Scenario(
        name="crowd", duration=200,
        crowd=[(0, 0), (20, 2), (40, 4), (60, 6), (80, 8), (100, 10), (120, 11), (140, 5), (160, 1)],
    ),
    "empty": Scenario(name="empty", duration=600, on_duty=[], crowd=[(0, 0)]),
}


def scenario_from(spec: str | dict[str, object] | Scenario) -> Scenario:
    """A built-in scenario by name, or one described by a dict."""
    if isinstance(spec, Scenario):
        return spec
    if isinstance(spec, str):
        if spec not in SCENARIOS:
            raise ValueError(f"unknown scenario {spec!r}; known: {', '.join(SCENARIOS)}")
        return SCENARIOS[spec]
    return Scenario.model_validate(spec)


@dataclass(frozen=True)
class Truth:
    """What the scene shows at one moment."""

    t: float
    seat_empty: dict[int, bool]
    waiting: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"t": self.t, "seat_empty": {str(k): v for k, v in self.seat_empty.items()}, "waiting": self.waiting}


def draw_person(img: np.ndarray, cx: int, feet: int, h: int, color: tuple[int, int, int], phase: float = 0.0) -> None:
    """A standing or walking human silhouette (head, torso, arms, legs, shoes)."""
    u = h / 8.0
    aa = cv2.LINE_AA
    head_r = int(u * 0.5)
    hy = int(feet - h + head_r + 2)
    cv2.circle(img, (cx, hy), head_r, SKIN, -1, aa)
    cv2.ellipse(img, (cx, hy - head_r // 3), (head_r, int(head_r * 0.8)), 0, 180, 360, (30, 30, 30), -1, aa)
    neck = hy + head_r
    sh = int(u * 0.95)
    hip = int(feet - h * 0.47)
    top = neck + int(u * 0.3)
    torso = np.array([[cx - sh, top], [cx + sh, top], [cx + int(sh * 0.8), hip], [cx - int(sh * 0.8), hip]], np.int32)
    cv2.fillConvexPoly(img, torso, color, aa)
    for s in (-1, 1):
        cv2.circle(img, (cx + s * (sh - int(u * 0.2)), neck + int(u * 0.45)), int(u * 0.3), color, -1, aa)
    arm_w = max(2, int(u * 0.38))
    swing = int(u * 0.6 * math.sin(phase))
    for s in (-1, 1):
        hand = (cx + s * (sh + int(u * 0.05)) + s * swing // 2, hip + int(u * 0.35))
        cv2.line(img, (cx + s * (sh - int(u * 0.15)), neck + int(u * 0.5)), hand, color, arm_w, aa)
        cv2.circle(img, hand, int(arm_w * 0.6), SKIN, -1, aa)
    leg_w = max(2, int(u * 0.45))
    for s in (-1, 1):
        fx = cx + s * int(u * 0.45) + s * swing
        cv2.line(img, (cx + s * int(u * 0.35), hip), (fx, feet - int(u * 0.1)), (40, 40, 40), leg_w, aa)
        cv2.ellipse(img, (fx + s * int(u * 0.1), feet - int(u * 0.08)), (int(u * 0.35), int(u * 0.15)), 0, 0, 360,
                    (20, 20, 20), -1, aa)


def draw_clerk(img: np.ndarray, x0: int, dy: int) -> None:
    """A seated clerk seen over the desk: head, white shirt, dark vest."""
    aa = cv2.LINE_AA
    cv2.circle(img, (x0 + 80, 56 + dy), 15, SKIN, -1, aa)
    cv2.ellipse(img, (x0 + 80, 50 + dy), (15, 11), 0, 180, 360, (25, 25, 25), -1, aa)
    shirt = np.array([[x0 + 44, 80 + dy], [x0 + 116, 80 + dy], [x0 + 110, DESK_TOP], [x0 + 50, DESK_TOP]], np.int32)
    cv2.fillConvexPoly(img, shirt, (235, 235, 240), aa)
    for s in (-1, 1):
        vest = np.array([[x0 + 80 + s * 10, 82 + dy], [x0 + 80 + s * 34, 84 + dy], [x0 + 80 + s * 28, DESK_TOP],
                         [x0 + 80 + s * 6, DESK_TOP]], np.int32)
        cv2.fillConvexPoly(img, vest, (80, 40, 30), aa)
    cv2.circle(img, (x0 + 44, 88 + dy), 8, (235, 235, 240), -1, aa)
    cv2.circle(img, (x0 + 116, 88 + dy), 8, (235, 235, 240), -1, aa)


class HallScene:
    """Renders the scenario at simulated time ``t`` and reports the ground truth."""

    def __init__(self, scenario: Scenario, noise: float = 2.5) -> None:
        self.scenario = scenario
        self.clerk_override: dict[int, bool] = {}
        self.crowd_override: int | None = None
        self._background = self._draw_background()
        rng = np.random.default_rng(scenario.seed)
        self._slot_order = [int(i) for i in rng.permutation(len(SLOTS))]
        self._noise = [rng.normal(0, noise, (HEIGHT, WIDTH, 3)).astype(np.int16) for _ in range(4)] if noise else []

    def _draw_background(self) -> np.ndarray:
        img = np.full((HEIGHT, WIDTH, 3), WALL, np.uint8)
        img[FLOOR_TOP:] = FLOOR
        for x in range(0, WIDTH, 40):
            cv2.line(img, (x, FLOOR_TOP + 4), (x, HEIGHT), GRID, 1)
        for y in range(FLOOR_TOP + 4, HEIGHT, 40):
            cv2.line(img, (0, y), (WIDTH, y), GRID, 1)
        for n in range(1, self.scenario.windows + 1):
            x0 = 160 * (n - 1)
            cv2.rectangle(img, (x0 + 58, 4), (x0 + 102, 28), (40, 40, 190), -1)
            cv2.putText(img, str(n), (x0 + 72, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
            cv2.rectangle(img, (x0 + 62, 64), (x0 + 98, DESK_TOP), CHAIR, -1)
            cv2.line(img, (x0, 0), (x0, FLOOR_TOP), (150, 150, 150), 3)
        return img

    def local_time(self, t: float) -> float:
        """Time within the script (it repeats when ``loop``)."""
        s = self.scenario
        return t % s.duration if s.loop else min(t, s.duration)

    def clerk_present(self, window: int, t: float) -> bool:
        """Whether the clerk of ``window`` sits at the desk at time ``t``."""
        if window in self.clerk_override:
            return self.clerk_override[window]
        s = self.scenario
        if s.on_duty is not None and window not in s.on_duty:
            return False
        lt = self.local_time(t)
        return not any(leave <= lt < back for leave, back in s.absences.get(window, []))

    def people(self, t: float) -> int:
        """Citizens in the waiting area at time ``t``."""
        if self.crowd_override is not None:
            return max(0, min(self.crowd_override, len(SLOTS)))
        lt = self.local_time(t)
        count = 0
        for start, n in sorted(self.scenario.crowd):
            if start <= lt:
                count = n
        return max(0, min(count, len(SLOTS)))

    def truth(self, t: float) -> Truth:
        """Ground truth at time ``t``."""
        seats = {n: not self.clerk_present(n, t) for n in range(1, self.scenario.windows + 1)}
        return Truth(t, seats, self.people(t))

    def render(self, t: float, frame_index: int = 0) -> np.ndarray:
        """The BGR frame at time ``t`` (with sensor noise varying by ``frame_index``)."""
        img = self._background.copy()
        for n in range(1, self.scenario.windows + 1):
            x0 = 160 * (n - 1)
            if self.clerk_present(n, t):
                # a still clerk still breathes: one pixel up and down
                draw_clerk(img, x0, round(math.sin(2 * math.pi * t / 4.0 + n)))
            cv2.rectangle(img, (x0 + 8, DESK_TOP), (x0 + 152, FLOOR_TOP - 2), DESK, -1)
            cv2.line(img, (x0 + 8, DESK_TOP), (x0 + 152, DESK_TOP), (90, 130, 180), 2)
            cv2.rectangle(img, (x0 + 124, 96), (x0 + 150, DESK_TOP), (30, 30, 30), -1)
        for k in range(self.people(t)):
            x, feet, h = SLOTS[self._slot_order[k]]
            if k % 3 == 1:  # pacing: walks a few steps to and fro
                dx, phase = 12 * math.sin(2 * math.pi * t / 6.0 + k), 2 * math.pi * t / 1.2
            else:
                dx, phase = 2 * math.sin(t / 3.0 + k), 0.4 * (k % 2)
            draw_person(img, x + round(dx), feet, h, CLOTHES[k % len(CLOTHES)], phase)
        if self._noise:
            noisy = img.astype(np.int16) + self._noise[frame_index % len(self._noise)]
            img = np.clip(noisy, 0, 255).astype(np.uint8)
        return img
