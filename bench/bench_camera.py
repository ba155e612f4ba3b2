"""CPU cost of camera monitoring: N cameras at 640×480, 10 frames/s, analytics on.

    python bench/bench_camera.py [--cameras 8] [--seconds 20] [--viewers 0]

N camera simulators run in a child process (their rendering and encoding stand in for
the IP cameras and are not counted). This process runs what the hall server runs per
camera: an ``OpenCvCamera`` reader thread decoding the MJPEG stream, the camera wiring
analysing every ``analyze_every`` seconds (frozen-reference seats + HOG head count) with
the alert rules, and optionally ``--viewers`` video-wall viewers per camera (one shared
encoder each). CPU time is the process's (all threads), from ``time.process_time``
and ``getrusage``; it prints JSON. Target: eight cameras within one core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drivers.camera.broadcast import JpegBroadcaster  # noqa: E402
from drivers.camera.driver import OpenCvCamera  # noqa: E402
from drivers.camera.options import DEFAULT_SEATS, DEFAULT_WAITING_AREA, CameraOptions  # noqa: E402
from server.cameras.wiring import CameraWiring, CameraWiringOptions  # noqa: E402

FPS = 10.0


def _serve(count: int, conn: Any, stop: Any) -> None:
    """Child process: ``count`` simulators; sends their URLs, runs until ``stop`` is set."""
    from drivers.camera.scene import HallScene, scenario_from
    from drivers.camera.simulator import CameraSimulator

    async def main() -> None:
        sims = []
        for i in range(count):
            sim = CameraSimulator(f"camera-{i + 1}", {"fps": FPS, "scenario": "demo"})
            sim.scene = HallScene(scenario_from("demo"), noise=0)  # lighter rendering: the cameras are not measured
            sims.append(sim)
        conn.send([await sim.start() for sim in sims])
        while not stop.is_set():
            await asyncio.sleep(0.2)
        for sim in sims:
            await sim.stop()

    asyncio.run(main())


def _cpu() -> tuple[float, float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.process_time(), usage.ru_utime, usage.ru_stime


async def _viewer(broadcaster: JpegBroadcaster, counter: list[int]) -> None:
    async for _jpeg in broadcaster.frames():
        counter[0] += 1


async def run(cameras: int, seconds: float, viewers: int, warmup: float) -> dict[str, Any]:
    """Start everything, measure ``seconds`` after ``warmup``, return the figures."""
    parent, child = mp.Pipe()
    stop = mp.get_context("spawn").Event()
    proc = mp.get_context("spawn").Process(target=_serve, args=(cameras, child, stop), daemon=True)
    proc.start()
    urls: list[str] = await asyncio.to_thread(parent.recv)
    options = CameraOptions(fps=FPS, seats=DEFAULT_SEATS, waiting_area=DEFAULT_WAITING_AREA, hog_resize=0.8,
                            hog_hit_threshold=-0.3, analyze_every=2.0)
    devices = {f"camera-{i + 1}": OpenCvCamera(f"camera-{i + 1}", url, options) for i, url in enumerate(urls)}
    tmp = Path(tempfile.mkdtemp(prefix="hallq-bench-camera-"))
    wiring = CameraWiring(CameraWiringOptions(tmp / "snapshots", tmp / "cameras"), cameras=devices)
    tasks: list[asyncio.Task[None]] = []
    delivered = [0]
    try:
        for device in devices.values():
            await device.open()
        ready = await asyncio.gather(*(d.wait_ready(20) for d in devices.values()))
        if not all(ready):
            raise RuntimeError("not every camera delivered frames")
        await wiring.start(None)
        for camera_id in devices:
            await wiring.capture_reference(camera_id)
            wiring.window_states.update(dict.fromkeys(DEFAULT_SEATS, "open"))
            for _ in range(viewers):
                broadcaster = JpegBroadcaster(_source(devices[camera_id]), fps=options.stream_fps,
                                              width=options.stream_width, quality=options.jpeg_quality)
                tasks.append(asyncio.create_task(_viewer(broadcaster, delivered)))
        await asyncio.sleep(warmup)
        frames0 = sum(d.frames_read for d in devices.values())
        wall0, (cpu0, user0, sys0) = time.monotonic(), _cpu()
        await asyncio.sleep(seconds)
        wall, (cpu1, user1, sys1) = time.monotonic() - wall0, _cpu()
        frames = sum(d.frames_read for d in devices.values()) - frames0
    finally:
        for task in tasks:
            task.cancel()
        await wiring.stop()
        for device in devices.values():
            await device.close()
        stop.set()
        await asyncio.to_thread(proc.join, 10)
    cpu = cpu1 - cpu0
    fps = frames / wall / cameras
    per_camera = cpu / wall / cameras
    projected = per_camera * FPS / fps * cameras if fps else None  # if the simulators fell short of 10 fps
    return {
        "bench": "camera",
        "cameras": cameras,
        "resolution": [640, 480],
        "target_fps": FPS,
        "measured_fps_per_camera": round(fps, 2),
        "analyze_every_s": options.analyze_every,
        "viewers_per_camera": viewers,
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 3),
        "user_seconds": round(user1 - user0, 3),
        "system_seconds": round(sys1 - sys0, 3),
        "cores_used": round(cpu / wall, 3),
        "cpu_per_camera_pct_of_core": round(per_camera * 100, 2),
        "cpu_ms_per_frame": round(cpu / frames * 1000, 2) if frames else None,
        "projected_cores_at_target_fps": round(projected, 3) if projected is not None else None,
        "target_cores": 1.0,
        "within_target": projected is not None and projected <= 1.0,
        "cpu_count": os.cpu_count(),
    }


def _source(device: OpenCvCamera) -> Any:
    def source() -> tuple[object, Any] | None:
        frame = device.latest()
        return None if frame is None else (frame.index, frame.image)

    return source


def main() -> None:
    """Parse arguments, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--viewers", type=int, default=0, help="video-wall viewers per camera")
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        print(json.dumps(asyncio.run(run(args.cameras, args.seconds, args.viewers, args.warmup)), indent=2))


if __name__ == "__main__":
    main()
