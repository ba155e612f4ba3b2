"""Cameras wired to the queue: clerk-absence and crowding alerts, evidence snapshots.

Plugging in (next to the other wirings of a device host)::

    cameras = CameraService(CameraWiring(CameraWiringOptions(snapshot_root=...)))
    manager.add_wiring(cameras.wiring)       # Services.cameras = cameras (server/api/video.py)

``start(manager)`` takes ``manager.queue`` (the ``QueuePort`` of ``server/devices/port.py``,
so the wiring runs unchanged in ``hallq serve`` and in ``hallq devices``), ``manager.publish``
and ``manager.devices_of_kind("camera")``; ``on_event`` receives typed ``Event``s
(``server/queue/events.py``). Each camera's ``options.seats`` says which windows it watches.
Every ``analyze_every`` seconds per camera the newest frame is analysed in a worker thread
(seats against the frozen empty-seat reference; the HOG head count in the waiting area only
when ``server/cameras/pacing.py`` says it is due — the last count is repeated with its time
``people_at`` in between), then the pure rules of ``server/cameras/alerts.py`` decide.

Published (``publish(type, topics, data)``):
Alerts carry evidence (snapshot paths) and go to supervisors only: topic ``alerts``, never a
public ``window:<n>``, ``ticket:<id>`` or ``hall`` topic.

- ``alert.clerk_absent`` on ("alerts",): {camera, window, active, since, at,
  empty_seconds, snapshot, message} — raised with a snapshot, and again with active=false
  when the clerk is back or the window is paused/closed;
- ``alert.crowding`` on ("alerts",): {camera, active, people, threshold, since, at, message};
- ``alert.bad_rating`` on ("alerts",): {ticket_id, number, window, level, camera, snapshot,
  message} for a ``ticket.rated`` 差评 (``RatingInfo.bad``: levels 1 and 2);
- ``camera.analysis`` on ("cameras",) when a camera's seat states or head count change.

``snapshot`` is ``/api/snapshots/YYYY-MM-DD/<file>.jpg`` (None when the camera had no
fresh frame). Snapshots live under ``snapshot_root`` and are purged after
``retention_days`` at start and then daily. Empty-seat references are saved under
``reference_root/<camera>/``; a missing one is taken automatically while its window is
closed, or from the first frame (``auto_reference``), and ``capture_reference`` (POST
/api/cameras/{id}/reference) retakes them when a supervisor says the seats are empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.camera.options import CameraOptions
from server.cameras.alerts import AbsenceWatch, AlertChange, CrowdWatch
from server.cameras.evidence import SnapshotStore
from server.cameras.pacing import CountPacer
from server.devices.manager import Publish
from server.devices.port import QueuePort
from server.queue.events import Event, EventType, RatingEvent

if TYPE_CHECKING:  # OpenCV and numpy load only when a camera is configured (a small box has none)
    from drivers.camera.analytics import Analysis, CameraAnalytics

log = logging.getLogger("hallq.devices.camera")

ALERTS = "alerts"
SNAPSHOT_URL = "/api/snapshots/"


@dataclass
class CameraWiringOptions:
    """Where evidence goes and how long it stays."""

    snapshot_root: Path = Path("var/snapshots")
    reference_root: Path = Path("var/cameras")
    retention_days: int = 30
    snapshot_max_age: float = 10.0  # an older frame is no evidence of "now"


@dataclass
class CameraUnit:
    """One camera with its analytics and alert state."""

    id: str
    device: Any
    options: CameraOptions
    analytics: CameraAnalytics
    absence: dict[int, AbsenceWatch]
    crowd: CrowdWatch | None
    pacer: CountPacer
    last: Analysis | None = None
    first_frame_seen: bool = False
    last_summary: dict[str, Any] = field(default_factory=dict)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


class CameraWiring:
    """The camera family's wiring object for the device manager."""

    def __init__(
        self,
        options: CameraWiringOptions | None = None,
        *,
        cameras: dict[str, Any] | None = None,
        queue: QueuePort | None = None,
        publish: Publish | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options or CameraWiringOptions()
        self.snapshots = SnapshotStore(self.options.snapshot_root, self.options.retention_days)
        self.queue = queue
        self.publish = publish
        self.clock = clock  # alert timing; tests pass a simulated clock
        self.units: dict[str, CameraUnit] = {}
        self.window_states: dict[int, str] = {}
        self._given = cameras
        self._tasks: list[asyncio.Task[None]] = []

    # --- manager interface ---------------------------------------------------------------

    async def start(self, manager: Any = None) -> None:
        """Pick up cameras, window states and references; start one analysis loop per camera."""
        if manager is not None:
            self.queue = self.queue or getattr(manager, "queue", None)
            self.publish = self.publish or getattr(manager, "publish", None)
        cameras = self._given
        if cameras is None:
            found = manager.devices_of_kind("camera") if manager is not None else []
            cameras = {cfg.id: device for cfg, device in found}
        for camera_id, device in cameras.items():
            self.add_camera(camera_id, device)
        for number in sorted({n for unit in self.units.values() for n in unit.absence}):
            await self._load_window_state(number)
        await asyncio.to_thread(self.purge)
        for unit in self.units.values():
            self._tasks.append(asyncio.create_task(self._loop(unit), name=f"camera-analytics-{unit.id}"))
        self._tasks.append(asyncio.create_task(self._daily_purge(), name="camera-snapshot-purge"))

    async def on_event(self, event: Event) -> None:
        """Follow window states; attach a snapshot to bad ratings."""
        window = event.window
        if window is not None:
            self.window_states[window.number] = str(window.state)
        if event.type is EventType.TICKET_RATED and isinstance(event.payload, RatingEvent):
            await self._bad_rating(event.payload)

    async def stop(self) -> None:
        """Stop the analysis loops."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    # --- cameras ------------------------------------------------------------------------------

    def add_camera(self, camera_id: str, device: Any) -> CameraUnit:
        """Register a camera (its options say which seats it watches); loads saved references."""
        options = getattr(device, "options", None)
        if not isinstance(options, CameraOptions):
            options = CameraOptions.model_validate(options or {})
        from drivers.camera.analytics import CameraAnalytics

        analytics = CameraAnalytics(options)
        loaded = analytics.load_references(self.options.reference_root / camera_id)
        if loaded:
            log.info("camera %s: empty-seat references loaded for windows %s", camera_id, loaded)
        absence = {n: AbsenceWatch(n, options.absent_after, options.present_after) for n in options.seats}
        crowd = None
        if options.waiting_area is not None and options.occupancy != "off":
            crowd = CrowdWatch(options.crowd_threshold, options.crowd_after, options.crowd_clear_below,
                               options.crowd_clear_after)
        # no crowd rule, no head count to pace (the pacer then never asks for one)
        pacer = CountPacer(options if crowd is not None else options.model_copy(update={"waiting_area": None}))
        unit = CameraUnit(camera_id, device, options, analytics, absence, crowd, pacer)
        self.units[camera_id] = unit
        return unit

    @property
    def cameras(self) -> dict[str, Any]:
        """Camera devices by id (for the video wall)."""
        return {camera_id: unit.device for camera_id, unit in self.units.items()}

    def camera_for_window(self, number: int) -> CameraUnit | None:
        """The first camera whose seats include window ``number``."""
        return next((u for u in self.units.values() if number in u.options.seats), None)

    def status(self) -> dict[str, Any]:
        """The latest analysis of every camera (for pages and tests)."""
        return {camera_id: unit.last_summary for camera_id, unit in self.units.items()}

    async def capture_reference(self, camera_id: str, windows: list[int] | None = None) -> list[int]:
        """Freeze the empty-seat (and empty-area) references from the newest frame now; saved to disk."""
        unit = self.units[camera_id]
        frame = unit.device.latest()
        if frame is None:
            return []
        chosen = list(unit.options.seats) if windows is None else [n for n in windows if n in unit.options.seats]
        unit.analytics.set_reference(frame.image, chosen, area=windows is None)
        await asyncio.to_thread(unit.analytics.save_references, self.options.reference_root / camera_id)
        log.info("camera %s: empty-seat reference taken for windows %s", camera_id, chosen)
        return chosen

    def snapshot(self, camera_id: str, kind: str) -> str | None:
        """Save the camera's newest frame as evidence; returns its URL path (None without a fresh frame)."""
        unit = self.units.get(camera_id)
        jpeg_of = getattr(unit.device, "jpeg", None) if unit is not None else None
        jpeg = jpeg_of(85, self.options.snapshot_max_age) if jpeg_of is not None else None
        if jpeg is None:
            return None
        return SNAPSHOT_URL + self.snapshots.save(jpeg, camera_id, kind)

    def purge(self) -> int:
        """Delete snapshots past the retention."""
        removed = self.snapshots.purge()
        if removed:
            log.info("camera snapshots: %d old day folder(s) deleted", removed)
        return removed

    # --- analysis -------------------------------------------------------------------------------

    async def analyze_once(self, camera_id: str) -> Analysis | None:
        """One analysis step of one camera: readings, references, alerts (the loop calls this)."""
        unit = self.units[camera_id]
        frame = unit.device.latest()
        now = self.clock()
        fresh = frame is not None and time.time() - frame.at <= unit.options.stale_after
        analysis: Analysis | None = None
        if fresh and frame is not None:
            await self._auto_reference(unit, frame.image)
            analysis = await asyncio.to_thread(self._analyze, unit, frame.image, now)
            unit.last = analysis
        for number, watch in unit.absence.items():
            reading = analysis.seats.get(number) if analysis is not None else None
            occupied = reading.occupied if reading is not None else None
            change = watch.update(now, self.window_states.get(number), occupied)
            if change is not None:
                await self._absence_alert(unit, change)
        if unit.crowd is not None:
            change = unit.crowd.update(now, analysis.people if analysis is not None else None)
            if change is not None:
                self._crowd_alert(unit, change)
        self._summarise(unit, analysis, fresh)
        return analysis

    @staticmethod
    def _analyze(unit: CameraUnit, image: Any, now: float) -> Analysis:
        # in a worker thread: the seats every time, the head count when due (else the last one again)
        count = unit.pacer.due(now, image)
        analysis = unit.analytics.analyze(image, count_people=count)
        if count:
            unit.pacer.counted(now, image)
            return analysis
        last = unit.last
        return dataclasses.replace(analysis, people=last.people if last else None, boxes=last.boxes if last else [])

    async def _loop(self, unit: CameraUnit) -> None:
        while True:
            try:
                await self.analyze_once(unit.id)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad frame must not end the camera's analytics
                log.exception("camera %s: analysis failed", unit.id)
            await asyncio.sleep(unit.options.analyze_every)

    async def _auto_reference(self, unit: CameraUnit, image: Any) -> None:
        mode = unit.options.auto_reference
        missing = [n for n in unit.options.seats if not unit.analytics.has_reference(n)]
        if mode == "off" or not missing:
            return
        if mode == "closed_windows":
            missing = [n for n in missing if self.window_states.get(n) == "closed"]
        elif unit.first_frame_seen:
            return
        unit.first_frame_seen = True
        if missing:
            unit.analytics.set_reference(image, missing, area=unit.analytics.foreground is not None)
            await asyncio.to_thread(unit.analytics.save_references, self.options.reference_root / unit.id)
            log.info("camera %s: empty-seat reference taken (%s) for windows %s", unit.id, mode, missing)

    async def _load_window_state(self, number: int) -> None:
        if self.queue is None:
            return
        try:
            window = await self.queue.window(number)
        except Exception as exc:  # unknown window in the camera options: analytics run, no alerts
            log.warning("camera wiring: window %s: %s", number, exc)
            return
        self.window_states.setdefault(number, str(window.state))

    def _summarise(self, unit: CameraUnit, analysis: Analysis | None, fresh: bool) -> None:
        summary: dict[str, Any] = {"camera": unit.id, "fresh": fresh}
        if analysis is not None:
            summary.update(analysis.to_dict())
            counted = unit.pacer.counted_at
            summary["people_at"] = _iso(counted) if counted is not None and analysis.people is not None else None
        summary["alerts"] = {
            "clerk_absent": [n for n, w in unit.absence.items() if w.active],
            "crowding": bool(unit.crowd and unit.crowd.active),
        }
        same = ("seats", "people_at")  # a repeated count with a new time is no change
        changed = {k: v for k, v in summary.items() if k not in same} != {
            k: v for k, v in unit.last_summary.items() if k not in same
        } or _occupancy(summary) != _occupancy(unit.last_summary)
        unit.last_summary = summary
        if changed:
            self._publish(EventType.CAMERA_ANALYSIS, ("cameras",), summary)

    # --- alerts ---------------------------------------------------------------------------------

    def _publish(self, kind: EventType, topics: tuple[str, ...], data: dict[str, Any]) -> None:
        if self.publish is None:
            return
        try:
            self.publish(kind, topics, data)
        except Exception:
            log.exception("publishing %s failed", kind)

    async def _absence_alert(self, unit: CameraUnit, change: AlertChange) -> None:
        number = change.window
        snapshot = await asyncio.to_thread(self.snapshot, unit.id, "absent") if change.active else None
        minutes = max(1, round((change.at - change.since) / 60))
        message = f"{number}号窗口工作人员离岗已{minutes}分钟" if change.active else f"{number}号窗口离岗提醒解除"
        self._publish(EventType.ALERT_CLERK_ABSENT, (ALERTS,), {
            "camera": unit.id, "window": number, "active": change.active, "since": _iso(change.since),
            "at": _iso(change.at), "empty_seconds": round(change.at - change.since), "reason": change.reason,
            "snapshot": snapshot, "message": message,
        })

    def _crowd_alert(self, unit: CameraUnit, change: AlertChange) -> None:
        threshold = unit.options.crowd_threshold
        message = f"等候区人数较多（约{change.value}人），请考虑增开窗口" if change.active else "等候区拥挤提醒解除"
        self._publish(EventType.ALERT_CROWDING, (ALERTS,), {
            "camera": unit.id, "active": change.active, "people": change.value, "threshold": threshold,
            "since": _iso(change.since), "at": _iso(change.at), "message": message,
        })

    async def _bad_rating(self, rated: RatingEvent) -> None:
        ticket, number = rated.ticket, rated.ticket.window
        if not rated.rating.bad or number is None:
            return
        unit = self.camera_for_window(number)
        snapshot = await asyncio.to_thread(self.snapshot, unit.id, "rating") if unit is not None else None
        self._publish(EventType.ALERT_BAD_RATING, (ALERTS,), {
            "ticket_id": ticket.id, "number": ticket.number, "window": number, "level": rated.rating.level,
            "camera": unit.id if unit is not None else None, "snapshot": snapshot,
            "message": f"{number}号窗口收到差评（{ticket.number}）",
        })

    async def _daily_purge(self) -> None:
        while True:
            await asyncio.sleep(24 * 3600)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.purge)


def _occupancy(summary: dict[str, Any]) -> dict[str, Any]:
    seats = summary.get("seats") or {}
    return {n: s.get("occupied") for n, s in seats.items()}
