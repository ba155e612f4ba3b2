"""The photo check is a parser of untrusted bytes: whatever arrives, it answers a JPEG or a 422.

``HALLQ_FUZZ_EXAMPLES`` scales the examples as for tests/fuzz/test_parsers.py.
"""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from server.staff import photos
from server.staff.photos import PhotoRefused


def _image(fmt: str, width: int, height: int, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), 128).save(out, fmt)
    return out.getvalue()


EXAMPLES = int(os.environ.get("HALLQ_FUZZ_EXAMPLES", "150"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(
    st.binary(max_size=4096),
    st.builds(lambda b, cut: b[:cut], st.sampled_from([_image("PNG", 40, 50), _image("JPEG", 40, 50),
                                                        _image("WEBP", 40, 50)]), st.integers(0, 400)),
    st.builds(lambda b, i, x: b[:i] + bytes([x]) + b[i + 1:], st.just(_image("PNG", 40, 50)),
              st.integers(0, 300), st.integers(0, 255)),
), kind=st.sampled_from(["image/png", "image/jpeg", "image/webp", "image/gif", "", "text/html; charset=utf-8"]))
def test_any_bytes_give_a_jpeg_or_a_422(data: bytes, kind: str) -> None:
    try:
        jpeg, width, height = photos.check_upload(data, kind, 1_000_000)
    except PhotoRefused as exc:
        assert exc.status == 422 and exc.code in ("photo_invalid", "photo_too_large")
        return
    with Image.open(io.BytesIO(jpeg)) as img:
        assert img.format == "JPEG" and img.size == (width, height)


def test_formats_modes_and_limits() -> None:
    for fmt, kind in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        jpeg, w, h = photos.check_upload(_image(fmt, 300, 400), kind, 1_000_000)
        assert (w, h) == (300, 400) and jpeg[:2] == b"\xff\xd8"
    rgba = _image("PNG", 64, 64, "RGBA")
    assert photos.check_upload(rgba, "image/png", 1_000_000)[1:] == (64, 64)  # alpha flattened to RGB
    big = photos.check_upload(_image("PNG", 3000, 2000), "image/png", 10_000_000)
    assert big[1:] == (1024, 683)  # the longest side is kept at 1024
    with pytest.raises(PhotoRefused) as tiny:  # an 8×8 picture is no portrait
        photos.check_upload(_image("PNG", 8, 8), "image/png", 1_000_000)
    assert tiny.value.code == "photo_invalid"
    with pytest.raises(PhotoRefused) as big_file:
        photos.check_upload(b"x" * 1001, "image/png", 1000)
    assert big_file.value.code == "photo_too_large"


def test_served_sizes_round_up_and_never_enlarge() -> None:
    assert [photos.served_size(s) for s in (None, 16, 64, 65, 300, 2048)] == [None, 64, 64, 128, 512, 512]
    original = photos.check_upload(_image("PNG", 90, 120), "image/png", 1_000_000)[0]
    assert photos.resize(original, 256) == original
    with Image.open(io.BytesIO(photos.resize(original, 64))) as img:
        assert img.size == (48, 64)
