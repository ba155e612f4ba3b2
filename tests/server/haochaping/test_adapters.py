"""Adapters: a province's adapter found through the ``hallq.haochaping`` entry points; signatures."""

from __future__ import annotations

import time
from importlib.metadata import EntryPoint
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.haochaping import adapters
from server.haochaping.adapters import GROUP, GenericAdapter, load_adapter
from server.haochaping.settings import ExportSettings
from server.haochaping.signing import sign, verify


class ProvinceAdapter:
    """A stand-in for a province's package (it would live in its own distribution)."""

    def __init__(self, settings: ExportSettings) -> None:
        self.settings = settings
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def send(self, key: str, record: dict[str, Any]) -> None:
        self.sent.append((key, record))

    async def aclose(self) -> None:
        pass


def test_a_province_adapter_is_loaded_by_its_entry_point_name(monkeypatch: pytest.MonkeyPatch) -> None:
    point = EntryPoint(name="zhejiang", value=f"{__name__}:ProvinceAdapter", group=GROUP)
    monkeypatch.setattr(adapters, "entry_points", lambda group: [point] if group == GROUP else [])
    adapter = load_adapter(ExportSettings(adapter="zhejiang"))
    assert type(adapter).__name__ == "ProvinceAdapter"
    with pytest.raises(ValueError, match="known: generic, zhejiang"):
        load_adapter(ExportSettings(adapter="fujian"))


def test_the_generic_adapter_needs_a_url() -> None:
    with pytest.raises(ValueError, match="HALLQ_HAOCHAPING_URL"):
        GenericAdapter(ExportSettings())
    assert isinstance(load_adapter(ExportSettings(url="http://127.0.0.1:9/")), GenericAdapter)


@given(secret=st.binary(min_size=1, max_size=64), body=st.binary(max_size=512), flip=st.integers(0, 511))
def test_a_signature_verifies_only_its_own_body(secret: bytes, body: bytes, flip: int) -> None:
    now = time.time()
    stamp = str(int(now))
    signature = sign(secret, stamp, body)
    assert verify(secret, stamp, body, signature, now=now)
    assert not verify(secret + b"x", stamp, body, signature, now=now)
    assert not verify(secret, str(int(now) - 3600), body, sign(secret, str(int(now) - 3600), body), now=now)
    if body:
        i = flip % len(body)
        tampered = body[:i] + bytes([body[i] ^ 1]) + body[i + 1:]
        assert not verify(secret, stamp, tampered, signature, now=now)


@given(stamp=st.text(max_size=20), signature=st.text(max_size=80))
def test_garbage_headers_never_verify(stamp: str, signature: str) -> None:
    assert not verify(b"k", stamp, b"{}", signature, now=time.time())
    assert not verify(b"k", "١٢٣", b"{}", signature, now=123)  # digits, but not ASCII ones
