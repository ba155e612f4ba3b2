"""Staff photos: check an upload (type and size, with Pillow), normalise it, serve it resized.

Pillow is imported inside the functions, never at module import: the server's start-up and
the kiosk path must not pay for it (only a photo upload or a photo request does).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from typing import Any

from server.errors import HallqError

ACCEPTED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
SIZES = (64, 128, 256, 512)  # the served heights; anything else is answered with the nearest larger
STORED_MAX = 1024  # the longest side kept; a 20-megapixel phone picture is not what a screen needs
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
QUALITY = 88


class PhotoRefused(HallqError):
    """An upload that is not an accepted image, or too large (422)."""

    status = 422


def _invalid(detail: str) -> PhotoRefused:
    return PhotoRefused("照片须为 JPEG、PNG 或 WebP 图片", f"The photo must be a JPEG, PNG or WebP image ({detail})",
                        code="photo_invalid")


def check_upload(data: bytes, content_type: str | None, max_bytes: int) -> tuple[bytes, int, int]:
    """The upload re-encoded as an upright RGB JPEG (longest side ≤ 1024) and its size; 422 otherwise."""
    if len(data) > max_bytes:
        raise PhotoRefused(f"照片文件过大（不超过 {max_bytes // 1000} KB）",
                           f"The photo is larger than {max_bytes} bytes", code="photo_too_large",
                           limit=max_bytes, size=len(data))
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind not in ACCEPTED_TYPES:
        raise _invalid(f"content type {kind or 'missing'}")
    from PIL import Image, ImageOps, UnidentifiedImageError  # lazily: see the module docstring

    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise _invalid(f"format {probe.format}")
            width, height = probe.size
            if width * height > MAX_PIXELS or min(width, height) < 16:
                raise _invalid(f"{width}×{height} pixels")
            probe.verify()  # truncated or corrupt files fail here
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            upright: Any = ImageOps.exif_transpose(img)
            rgb = upright.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise _invalid(type(exc).__name__) from None
    rgb.thumbnail((STORED_MAX, STORED_MAX))
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=QUALITY, optimize=True)
    return out.getvalue(), rgb.width, rgb.height


def served_size(asked: int | None) -> int | None:
    """The height served for ``?size=`` (one of SIZES; None: the stored image)."""
    if asked is None:
        return None
    return next((s for s in SIZES if s >= asked), SIZES[-1])


class ResizedCache:
    """Resized JPEGs by (member, upload time, height), bounded (a hall has tens of staff)."""

    def __init__(self, limit: int = 256) -> None:
        self._items: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def get(self, account_id: int, version: int, height: int, original: bytes) -> bytes:
        """The photo ``height`` pixels high (never enlarged), made once per upload."""
        key = (account_id, version, height)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        made = resize(original, height)
        with self._lock:
            self._items[key] = made
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
        return made


def resize(original: bytes, height: int) -> bytes:
    """The stored JPEG scaled to ``height`` pixels high (kept as is when already smaller)."""
    from PIL import Image  # lazily: see the module docstring

    with Image.open(io.BytesIO(original)) as img:
        if img.height <= height:
            return original
        width = max(1, round(img.width * height / img.height))
        small = img.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()
