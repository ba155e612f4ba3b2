"""Analytics against the simulator's ground truth: seats and the waiting-area head count."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from drivers.camera.analytics import CameraAnalytics, SeatMonitor, changed_share
from drivers.camera.options import DEFAULT_WAITING_AREA, CameraOptions
from drivers.camera.scene import SCENARIOS, SLOTS, HallScene

Jpeg = Callable[..., np.ndarray]


@pytest.fixture
def empty(through_jpeg: Jpeg) -> np.ndarray:
    return through_jpeg(HallScene(SCENARIOS["empty"]).render(0.0, 0))


@pytest.mark.parametrize("name", ["demo", "crowd", "still", "absence"])
def test_hog_count_within_one_on_synthetic_scenes(name: str, demo_options: CameraOptions, through_jpeg: Jpeg) -> None:
    analytics = CameraAnalytics(demo_options)
    scene = HallScene(SCENARIOS[name])
    duration = min(SCENARIOS[name].duration, 600)
    errors = []
    for i, t in enumerate(np.linspace(0, duration, 25, endpoint=False)):
        result = analytics.analyze(through_jpeg(scene.render(float(t), i)))
        truth = scene.truth(float(t)).waiting
        assert result.people is not None
        assert abs(result.people - truth) <= 1, (name, t, result.people, truth)
        errors.append(result.people - truth)
    assert np.mean(np.abs(errors)) <= 0.25  # mostly exact, not just within one


def test_every_slot_filled_is_counted(demo_options: CameraOptions, through_jpeg: Jpeg) -> None:
    scene = HallScene(SCENARIOS["still"])
    scene.crowd_override = len(SLOTS)
    result = CameraAnalytics(demo_options).analyze(through_jpeg(scene.render(12.0)))
    assert result.people is not None and abs(result.people - len(SLOTS)) <= 1
    assert len(result.boxes) == result.people


def test_empty_hall_counts_nobody(demo_options: CameraOptions, empty: np.ndarray) -> None:
    result = CameraAnalytics(demo_options).analyze(empty)
    assert result.people == 0


def test_seats_follow_ground_truth_with_frozen_reference(
    demo_options: CameraOptions, empty: np.ndarray, through_jpeg: Jpeg
) -> None:
    analytics = CameraAnalytics(demo_options)
    analytics.set_reference(empty)
    scene = HallScene(SCENARIOS["demo"])
    for i, t in enumerate(np.arange(0, 600, 13.0)):
        result = analytics.analyze(through_jpeg(scene.render(float(t), i)), count_people=False)
        truth = scene.truth(float(t))
        for window, reading in result.seats.items():
            assert reading.occupied is (not truth.seat_empty[window]), (t, window, reading)


def test_seat_unknown_without_reference(demo_options: CameraOptions, empty: np.ndarray) -> None:
    result = CameraAnalytics(demo_options).analyze(empty, count_people=False)
    assert all(r.occupied is None for r in result.seats.values())


def test_brightness_change_is_not_a_clerk(empty: np.ndarray) -> None:
    reference = empty
    darker = np.clip(reference.astype(np.int16) - 25, 0, 255).astype(np.uint8)
    assert changed_share(darker[36:124, 40:120], reference[36:124, 40:120]) < 0.02


def test_seat_hysteresis_holds_between_thresholds() -> None:
    seat = SeatMonitor(1, (0, 0, 10, 10), enter=0.3, exit=0.1)
    ref = np.zeros((10, 10, 3), np.uint8)
    seat.set_reference(ref)
    half = ref.copy()
    half[:2] = 255  # 20 % changed: between exit and enter
    full = ref.copy()
    full[:6] = 255
    assert seat.update(full).occupied is True
    assert seat.update(half).occupied is True  # stays occupied
    assert seat.update(ref).occupied is False
    assert seat.update(half).occupied is False  # stays empty


def test_foreground_fallback_within_one(tmp_path: Path, empty: np.ndarray, through_jpeg: Jpeg) -> None:
    options = CameraOptions(waiting_area=DEFAULT_WAITING_AREA, occupancy="foreground", person_area=3700)
    analytics = CameraAnalytics(options)
    assert analytics.analyze(empty).people is None  # no reference yet
    analytics.set_reference(empty, area=True)
    analytics.save_references(tmp_path)
    reloaded = CameraAnalytics(options)
    reloaded.load_references(tmp_path)
    scene = HallScene(SCENARIOS["crowd"])
    for i, t in enumerate(np.arange(0, 200, 10.0)):
        people = reloaded.analyze(through_jpeg(scene.render(float(t), i))).people
        assert people is not None and abs(people - scene.truth(float(t)).waiting) <= 1


def test_references_survive_a_restart(tmp_path: Path, demo_options: CameraOptions, empty: np.ndarray) -> None:
    analytics = CameraAnalytics(demo_options)
    analytics.set_reference(empty, windows=[1, 3])
    analytics.save_references(tmp_path)
    again = CameraAnalytics(demo_options)
    assert again.load_references(tmp_path) == [1, 3]
    assert again.has_reference(1) and not again.has_reference(2)
