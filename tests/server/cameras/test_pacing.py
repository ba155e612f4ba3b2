"""The head count's pacing (server/cameras/pacing.py): not every analysis, never a still picture, honest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from drivers.camera.analytics import Analysis, CameraAnalytics
from drivers.camera.options import DEFAULT_WAITING_AREA, CameraOptions
from drivers.camera.scene import SCENARIOS, HallScene
from server.cameras.pacing import REFRESH_SECONDS, CountPacer, changed, count_every, signature
from server.cameras.wiring import CameraWiring
from tests.server.cameras.test_wiring import FakeQueue, Recorder, SceneCamera, camera_options, step, wiring_options

Jpeg = Callable[..., np.ndarray]


def test_the_gate_ignores_sensor_noise_and_jpeg_but_sees_one_more_person(through_jpeg: Jpeg) -> None:
    scene = HallScene(SCENARIOS["empty"])
    before = signature(through_jpeg(scene.render(30.0, 1)), DEFAULT_WAITING_AREA)
    for index in range(2, 12):  # the same moment, other noise
        assert not changed(signature(through_jpeg(scene.render(30.0, index)), DEFAULT_WAITING_AREA), before)
    scene.crowd_override = 1
    assert changed(signature(through_jpeg(scene.render(30.0, 12)), DEFAULT_WAITING_AREA), before)
    assert changed(before, None)  # no earlier picture: count


def test_count_every_is_a_third_of_the_shorter_crowding_hold_but_not_below_the_analysis() -> None:
    assert count_every(CameraOptions(crowd_after=30, crowd_clear_after=60, analyze_every=2)) == 10
    assert count_every(CameraOptions(crowd_after=3, crowd_clear_after=60, analyze_every=2)) == 2


def test_a_still_waiting_area_is_counted_again_only_on_refresh(through_jpeg: Jpeg) -> None:
    pacer = CountPacer(CameraOptions(waiting_area=DEFAULT_WAITING_AREA, crowd_after=30, crowd_clear_after=60))
    scene = HallScene(SCENARIOS["empty"])
    counted = []
    for i, t in enumerate(np.arange(0, 2 * REFRESH_SECONDS + 1, 2.0)):
        image = through_jpeg(scene.render(30.0, i))  # the picture never changes (noise only)
        if pacer.due(float(t), image):
            pacer.counted(float(t), image)
            counted.append(float(t))
    assert counted == [0.0, REFRESH_SECONDS, 2 * REFRESH_SECONDS]
    assert pacer.skipped_still > 0


def test_a_changing_waiting_area_is_counted_every_count_every(through_jpeg: Jpeg) -> None:
    options = CameraOptions(waiting_area=DEFAULT_WAITING_AREA, crowd_after=30, crowd_clear_after=60)
    pacer = CountPacer(options)
    scene = HallScene(SCENARIOS["still"])  # citizens pace: every frame differs
    counted = []
    for i, t in enumerate(np.arange(0, 41, 2.0)):
        image = through_jpeg(scene.render(float(t), i))
        if pacer.due(float(t), image):
            pacer.counted(float(t), image)
            counted.append(float(t))
    assert counted == [0.0, 10.0, 20.0, 30.0, 40.0]


async def test_between_counts_the_wiring_repeats_the_last_count_with_its_time(tmp_path: Path) -> None:
    clock = [0.0]
    options = camera_options(crowd_after=30, crowd_clear_after=60, analyze_every=2)
    camera = SceneCamera(options, scenario="still")
    wiring = CameraWiring(wiring_options(tmp_path), cameras={"camera-1": camera},
                          queue=FakeQueue(dict.fromkeys(range(1, 5), "open")), publish=Recorder(),
                          clock=lambda: clock[0])
    wiring.add_camera("camera-1", camera)
    await step(wiring, camera, clock, 60)  # 30 analyses, every 2 simulated seconds
    unit = wiring.units["camera-1"]
    assert unit.pacer.counts == 6  # t = 2, 12, 22, …, 52: one count per count_every (10 s)
    summary = wiring.status()["camera-1"]
    assert summary["people_at"] is not None and unit.pacer.counted_at == 52.0
    # the repeated figure is the count of the frame it was made on, not an estimate
    direct = CameraAnalytics(options).analyze(camera.scene.render(52.0, 0)).people
    assert direct is not None and abs(summary["people"] - direct) <= 1 and abs(summary["people"] - 4) <= 1


async def test_seats_are_read_on_every_analysis(tmp_path: Path) -> None:
    clock = [0.0]
    camera = SceneCamera(camera_options(crowd_after=30, crowd_clear_after=60, analyze_every=2), scenario="still")
    wiring = CameraWiring(wiring_options(tmp_path), cameras={"camera-1": camera},
                          queue=FakeQueue(dict.fromkeys(range(1, 5), "open")), publish=Recorder(),
                          clock=lambda: clock[0])
    unit = wiring.add_camera("camera-1", camera)
    frames: list[float] = []
    analyze = unit.analytics.analyze

    def spy(image: np.ndarray, count_people: bool = True) -> Analysis:
        frames.append(clock[0])
        return analyze(image, count_people)

    unit.analytics.analyze = spy  # type: ignore[method-assign]
    await step(wiring, camera, clock, 20)
    assert len(frames) == 10 and unit.pacer.counts == 2  # seats 10 times, heads twice (t = 2, 12)
