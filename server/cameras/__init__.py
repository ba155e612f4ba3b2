"""Cameras as a hall feature: the wiring (analytics → alerts), alert rules, evidence, live streams.

- ``wiring.py``: ``CameraWiring``, run by the device host next to the other wirings;
- ``alerts.py``: the pure clerk-absence and crowding rules (simulated time in tests);
- ``evidence.py``: evidence snapshots on disk, with retention;
- ``stream.py``: MJPEG multipart framing of the shared JPEG encoders;
- ``service.py``: ``CameraService``, all the video routes (``server/api/video.py``) use;
- ``relay.py``: the device host's loopback relay, so web workers of ``hallq serve --workers N``
  (which run no camera) still show live video.

The drivers (``drivers/camera/``) only read frames and analyse them; every rule about
windows, alerts and evidence lives here.
"""

from server.cameras.service import CameraService
from server.cameras.wiring import CameraWiring, CameraWiringOptions

__all__ = ["CameraService", "CameraWiring", "CameraWiringOptions"]
