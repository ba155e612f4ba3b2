"""Camera wiring: window states, absence and crowding alerts, snapshots, retention."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from drivers.camera.driver import OpenCvCamera
from drivers.camera.options import DEFAULT_SEATS, DEFAULT_WAITING_AREA, CameraOptions
from drivers.camera.scene import SCENARIOS, HallScene
from drivers.camera.simulator import CameraSimulator
from drivers.contract import Frame
from drivers.health import DeviceState, Health
from server.cameras.wiring import CameraWiring, CameraWiringOptions
from server.queue.events import Event, EventType
from server.queue.views import WindowView
from tests.support import until


class FakeQueue:
    """The one QueuePort method the camera wiring calls."""

    def __init__(self, states: dict[int, str]) -> None:
        self.states = states

    async def window(self, number: int) -> WindowView:
        return WindowView.from_dict({"number": number, "state": self.states[number]})


class SceneCamera:
    """A camera that renders the synthetic scene at a settable simulated time (no HTTP)."""

    def __init__(self, options: CameraOptions, scenario: str = "empty") -> None:
        self.options = options
        self.scene = HallScene(SCENARIOS[scenario])
        self.t = 0.0
        self.index = 0
        self.offline = False
        self.health = Health(DeviceState.READY)

    def latest(self) -> Frame | None:
        if self.offline:
            return None
        self.index += 1
        return Frame(self.scene.render(self.t, self.index), time.time(), self.index)

    def jpeg(self, quality: int = 85, max_age: float | None = None) -> bytes | None:
        return None if self.offline else b"\xff\xd8fake-jpeg\xff\xd9"


def camera_options(**overrides: Any) -> CameraOptions:
    base: dict[str, Any] = {
        "seats": DEFAULT_SEATS, "waiting_area": DEFAULT_WAITING_AREA, "hog_resize": 0.8, "hog_hit_threshold": -0.3,
        "absent_after": 60, "present_after": 4, "crowd_threshold": 6, "crowd_after": 10, "crowd_clear_after": 10,
        "analyze_every": 0.1, "stale_after": 2,
    }
    return CameraOptions.model_validate({**base, **overrides})


def window_changed(number: int, state: str) -> Event:
    return Event.of(EventType.WINDOW_CHANGED, ("hall",), {"window": {"number": number, "state": state}}, seq=1)


def rated(ticket_id: int, window: int, level: int) -> Event:
    ticket = {"id": ticket_id, "number": f"A{ticket_id:03d}", "window": window, "rating": level, "state": "finished"}
    rating = {"level": level, "bad": level <= 2, "label": "", "source": "evaluator"}
    return Event.of(EventType.TICKET_RATED, ("hall", f"ticket:{ticket_id}"), {"ticket": ticket, "rating": rating})


class Recorder:
    def __init__(self, clock: Any = time.time) -> None:
        self.events: list[tuple[str, tuple[str, ...], dict[str, Any], float]] = []
        self.clock = clock

    def __call__(self, kind: str, topics: tuple[str, ...], data: dict[str, Any]) -> None:
        self.events.append((kind, topics, data, self.clock()))

    def of(self, kind: str) -> list[tuple[str, tuple[str, ...], dict[str, Any], float]]:
        return [e for e in self.events if e[0] == kind]


def wiring_options(tmp_path: Path) -> CameraWiringOptions:
    return CameraWiringOptions(snapshot_root=tmp_path / "snapshots", reference_root=tmp_path / "cameras")


async def step(wiring: CameraWiring, camera: SceneCamera, clock: list[float], until: float, every: float = 2.0) -> None:
    """Advance simulated time, analysing every ``every`` seconds."""
    while clock[0] < until:
        clock[0] += every
        camera.t = clock[0]
        await wiring.analyze_once("camera-1")


async def test_absence_alert_with_snapshot_then_cleared_by_pause(tmp_path: Path) -> None:
    clock = [0.0]
    camera = SceneCamera(camera_options(occupancy="off"))
    events = Recorder(lambda: clock[0])
    wiring = CameraWiring(wiring_options(tmp_path), cameras={"camera-1": camera},
                          queue=FakeQueue(dict.fromkeys(range(1, 5), "closed")), publish=events, clock=lambda: clock[0])
    await wiring.start(None)
    await wiring.stop()  # drive the analysis by hand below
    await wiring.analyze_once("camera-1")  # closed windows, empty seats: references taken and saved
    saved = sorted(p.name for p in (tmp_path / "cameras" / "camera-1").iterdir())
    assert saved == [f"seat-{n}.png" for n in range(1, 5)]
    camera.scene = HallScene(SCENARIOS["absence"])  # window 2's clerk is away from 30 s to 330 s
    for n in range(1, 5):
        await wiring.on_event(window_changed(n, "open"))
    await step(wiring, camera, clock, 200)
    raised = [e for e in events.of("alert.clerk_absent") if e[2]["active"]]
    assert len(raised) == 1
    _, topics, data, at = raised[0]
    assert topics == ("alerts",) and data["window"] == 2 and 90 <= at <= 94
    assert data["snapshot"].startswith("/api/snapshots/") and "离岗" in data["message"]
    assert wiring.snapshots.resolve(data["snapshot"].removeprefix("/api/snapshots/")) is not None
    await wiring.on_event(window_changed(2, "paused"))
    await step(wiring, camera, clock, 204)
    cleared = [e for e in events.of("alert.clerk_absent") if not e[2]["active"]]
    assert len(cleared) == 1 and cleared[0][2]["reason"] == "window_paused"
    assert wiring.status()["camera-1"]["alerts"]["clerk_absent"] == []


async def test_still_clerks_for_ten_simulated_minutes_raise_nothing(tmp_path: Path) -> None:
    clock = [0.0]
    camera = SceneCamera(camera_options(), scenario="empty")
    events = Recorder()
    wiring = CameraWiring(wiring_options(tmp_path), cameras={"camera-1": camera},
                          queue=FakeQueue(dict.fromkeys(range(1, 5), "closed")), publish=events, clock=lambda: clock[0])
    wiring.add_camera("camera-1", camera)
    await wiring.on_event(window_changed(1, "closed"))
    for n in range(1, 5):
        wiring.window_states[n] = "closed"
    await wiring.analyze_once("camera-1")
    camera.scene = HallScene(SCENARIOS["still"])
    for n in range(1, 5):
        await wiring.on_event(window_changed(n, "serving"))
    await step(wiring, camera, clock, 600, every=10.0)  # analyses every 10 simulated seconds
    assert events.of("alert.clerk_absent") == []
    assert events.of("alert.crowding") == []  # 4 people, threshold 6
    assert abs(wiring.status()["camera-1"]["people"] - 4) <= 1


async def test_crowding_raised_and_cleared(tmp_path: Path) -> None:
    clock = [0.0]
    camera = SceneCamera(camera_options(), scenario="still")
    events = Recorder(lambda: clock[0])
    wiring = CameraWiring(wiring_options(tmp_path), cameras={"camera-1": camera},
                          queue=FakeQueue(dict.fromkeys(range(1, 5), "open")), publish=events, clock=lambda: clock[0])
    wiring.add_camera("camera-1", camera)
    camera.scene.crowd_override = 9
    await step(wiring, camera, clock, 20)
    raised = events.of("alert.crowding")
    assert len(raised) == 1 and raised[0][2]["active"] and abs(raised[0][2]["people"] - 9) <= 1
    assert raised[0][1] == ("alerts",)
    camera.scene.crowd_override = 2
    await step(wiring, camera, clock, 40)
    assert [e[2]["active"] for e in events.of("alert.crowding")] == [True, False]
    assert events.of("camera.analysis")  # status changes are published too


async def test_bad_rating_gets_a_snapshot_good_rating_does_not(tmp_path: Path) -> None:
    camera = SceneCamera(camera_options())
    events = Recorder()
    wiring = CameraWiring(wiring_options(tmp_path), cameras={"camera-1": camera}, publish=events)
    wiring.add_camera("camera-1", camera)
    await wiring.on_event(rated(7, 3, 2))
    await wiring.on_event(rated(8, 3, 4))
    alerts = events.of("alert.bad_rating")
    assert len(alerts) == 1
    _, topics, data, _ = alerts[0]
    assert topics == ("alerts",)  # evidence is for supervisors: never a public window or ticket topic
    assert data["level"] == 2 and data["camera"] == "camera-1" and data["number"] == "A007"
    path = wiring.snapshots.resolve(data["snapshot"].removeprefix("/api/snapshots/"))
    assert path is not None and path.read_bytes().startswith(b"\xff\xd8")
    camera.offline = True  # no frame: the alert still goes out, without evidence
    await wiring.on_event(rated(9, 1, 1))
    assert events.of("alert.bad_rating")[-1][2]["snapshot"] is None


async def test_offline_camera_raises_no_absence(tmp_path: Path) -> None:
    clock = [0.0]
    camera = SceneCamera(camera_options(occupancy="off"), scenario="empty")
    events = Recorder()
    wiring = CameraWiring(wiring_options(tmp_path), cameras={"camera-1": camera}, publish=events,
                          clock=lambda: clock[0])
    wiring.add_camera("camera-1", camera)
    wiring.window_states.update(dict.fromkeys(range(1, 5), "closed"))
    await wiring.analyze_once("camera-1")
    wiring.window_states.update(dict.fromkeys(range(1, 5), "open"))
    camera.offline = True
    await step(wiring, camera, clock, 600, every=10)
    assert events.of("alert.clerk_absent") == []
    assert wiring.status()["camera-1"]["fresh"] is False


async def test_start_takes_cameras_from_the_manager_and_purges_old_snapshots(tmp_path: Path) -> None:
    old = tmp_path / "snapshots" / (date.today() - timedelta(days=45)).isoformat()
    old.mkdir(parents=True)
    (old / "x.jpg").write_bytes(b"x")
    camera = SceneCamera(camera_options())

    class Cfg:
        id = "camera-1"

    class Manager:
        queue = FakeQueue(dict.fromkeys(range(1, 5), "paused"))
        publish = Recorder()

        def devices_of_kind(self, kind: str) -> list[tuple[Any, Any]]:
            return [(Cfg(), camera)] if kind == "camera" else []

    wiring = CameraWiring(wiring_options(tmp_path))
    await wiring.start(Manager())
    try:
        assert list(wiring.cameras) == ["camera-1"]
        assert wiring.window_states == dict.fromkeys(range(1, 5), "paused")
        assert not old.exists()
        await until(lambda: wiring.status().get("camera-1"), 10)
    finally:
        await wiring.stop()


@pytest.mark.timeout(60)
async def test_end_to_end_through_the_simulator_stream(tmp_path: Path) -> None:
    """Simulator → MJPEG → OpenCvCamera → wiring, at 15× simulated speed."""
    sim = CameraSimulator("camera-1", {"scenario": "empty", "speed": 15})
    url = await sim.start()
    camera = OpenCvCamera("camera-1", url, camera_options(fps=10, read_timeout=3, open_timeout=3))
    events = Recorder(sim.clock.now)
    queue = FakeQueue(dict.fromkeys(range(1, 5), "closed"))
    wiring = CameraWiring(wiring_options(tmp_path), cameras={"camera-1": camera}, queue=queue, publish=events,
                          clock=sim.clock.now)
    try:
        await camera.open()
        assert await camera.wait_ready(10)
        await wiring.start(None)
        reference = tmp_path / "cameras" / "camera-1"
        await until(lambda: len(list(reference.glob("seat-*.png"))) == 4, 10)
        await sim.act("scenario", {"name": "absence"})  # clock back to 0; clerk 2 away 30..330 s
        for n in range(1, 5):
            await wiring.on_event(window_changed(n, "open"))
        await until(lambda: events.of("alert.clerk_absent"), 20)
        _, _, data, at = events.of("alert.clerk_absent")[0]
        # due at 30 + 60 s; frame latency (≤ 3 real s = 45 simulated on a busy machine) may add to it
        assert data["window"] == 2 and data["active"] and 90 <= at <= 135
        assert wiring.snapshots.resolve(data["snapshot"].removeprefix("/api/snapshots/")) is not None
        assert abs(wiring.status()["camera-1"]["people"] - 3) <= 1
    finally:
        await wiring.stop()
        await camera.close()
        await sim.stop()


@pytest.mark.parametrize(("mode", "expected"), [("first_frame", [1, 2, 3, 4]), ("off", []), ("closed_windows", [])])
async def test_auto_reference_modes_with_open_windows(tmp_path: Path, mode: str, expected: list[int]) -> None:
    camera = SceneCamera(camera_options(occupancy="off", auto_reference=mode), scenario="empty")
    wiring = CameraWiring(wiring_options(tmp_path), cameras={"camera-1": camera})
    wiring.add_camera("camera-1", camera)
    wiring.window_states.update(dict.fromkeys(range(1, 5), "open"))
    await wiring.analyze_once("camera-1")
    camera.scene = HallScene(SCENARIOS["still"])  # clerks sit down: no second reference
    await wiring.analyze_once("camera-1")
    unit = wiring.units["camera-1"]
    assert [n for n in range(1, 5) if unit.analytics.has_reference(n)] == expected
    occupied = [s["occupied"] for s in wiring.status()["camera-1"]["seats"].values()]
    assert occupied == ([True] * 4 if expected else [None] * 4)
