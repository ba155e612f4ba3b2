"""Camera test fixtures shared by tests/drivers/camera and tests/server/cameras: the demo scene."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from drivers.camera.options import DEFAULT_SEATS, DEFAULT_WAITING_AREA, CameraOptions


def _through_jpeg(image: np.ndarray, quality: int = 80) -> np.ndarray:
    """What the driver sees after the simulator's JPEG encoding."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    assert decoded is not None
    return decoded


@pytest.fixture
def demo_options() -> CameraOptions:
    """The options of the demo camera (the simulator's scene)."""
    return CameraOptions(
        seats=DEFAULT_SEATS, waiting_area=DEFAULT_WAITING_AREA, hog_resize=0.8, hog_hit_threshold=-0.3,
        absent_after=120, present_after=5,
    )


@pytest.fixture
def through_jpeg() -> Callable[..., np.ndarray]:
    """Encode and decode a frame as the simulator and the driver do."""
    return _through_jpeg
