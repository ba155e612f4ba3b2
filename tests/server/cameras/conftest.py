"""Camera fixtures: the demo scene's options and the simulator's JPEG round trip (tests/support/camera.py)."""

from tests.support.camera import demo_options, through_jpeg

__all__ = ["demo_options", "through_jpeg"]
