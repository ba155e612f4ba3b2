"""Clerk absence end to end on simulated time: scene → frozen-reference analytics → alert rule."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from drivers.camera.analytics import CameraAnalytics
from drivers.camera.options import CameraOptions
from drivers.camera.scene import SCENARIOS, HallScene, Scenario
from server.cameras.alerts import AbsenceWatch

Jpeg = Callable[..., np.ndarray]


def run(scene: HallScene, options: CameraOptions, through_jpeg: Jpeg, start: float, end: float) -> list:
    """Analyse every ``analyze_every`` simulated seconds; all windows open; returns alert changes."""
    analytics = CameraAnalytics(options)
    analytics.set_reference(through_jpeg(HallScene(SCENARIOS["empty"]).render(0.0)))
    watches = {n: AbsenceWatch(n, options.absent_after, options.present_after) for n in options.seats}
    changes = []
    for i, t in enumerate(np.arange(start, end, options.analyze_every)):
        result = analytics.analyze(through_jpeg(scene.render(float(t), i)), count_people=False)
        for n, watch in watches.items():
            change = watch.update(float(t), "open", result.seats[n].occupied)
            if change is not None:
                changes.append(change)
    return changes


def test_absence_detected_within_the_configured_time(demo_options: CameraOptions, through_jpeg: Jpeg) -> None:
    scene = HallScene(SCENARIOS["absence"])  # window 2's clerk leaves at 30 s, back at 330 s
    changes = run(scene, demo_options, through_jpeg, 0, 400)
    raised = [c for c in changes if c.active]
    assert [c.window for c in raised] == [2]
    # leaves at 30 s: alert at 30 + absent_after, give or take one analysis period
    due = 30 + demo_options.absent_after
    assert due <= raised[0].at <= due + 2 * demo_options.analyze_every
    cleared = [c for c in changes if not c.active]
    assert [c.window for c in cleared] == [2]
    assert 330 <= cleared[0].at <= 330 + demo_options.present_after + 2 * demo_options.analyze_every


def test_no_false_alarm_for_a_still_clerk_over_ten_simulated_minutes(
    demo_options: CameraOptions, through_jpeg: Jpeg
) -> None:
    still = Scenario(name="still", duration=3600, crowd=[(0, 5)])  # clerks sit still, citizens pace
    changes = run(HallScene(still), demo_options, through_jpeg, 0, 600)
    assert changes == []


def test_short_breaks_below_the_threshold_raise_nothing(demo_options: CameraOptions, through_jpeg: Jpeg) -> None:
    breaks = Scenario(name="breaks", duration=900, absences={1: [(60, 150)], 3: [(200, 300), (400, 500)]})
    assert run(HallScene(breaks), demo_options, through_jpeg, 0, 600) == []
