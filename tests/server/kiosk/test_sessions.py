"""Card sessions in the store: opened from readings, refused with stable codes, shared by workers, private."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import stat
from pathlib import Path
from typing import Any

import pytest

from drivers.contract import CardEvent
from drivers.idcard.card import CardType
from drivers.idcard.samples import SAMPLES
from server.config import HallConfig
from server.errors import NotFound
from server.installation import identity_key, key_hash, load_or_create_secret
from server.kiosk.reader import ReaderWiring
from server.kiosk.reading import CardReading
from server.queue.events import EventType
from tests.server.kiosk.conftest import SECRET, Rig, close_rig, hall_config, open_rig
from tests.support import until


def reading(key: str) -> CardReading:
    """The reading a reader sends for a sample card."""
    return CardReading.from_card(SAMPLES[key])


def last(rig: Rig, type_: EventType) -> dict[str, Any]:
    """The data of the last published event of a type."""
    found = [e for e in rig.events() if e.type is type_]
    assert found, f"no {type_} published"
    return found[-1].data


async def test_placed_card_opens_a_masked_session_with_the_keyed_hash(rig: Rig) -> None:
    session = await rig.kiosks.card_placed("k1", reading("elderly"))
    assert session is not None
    card = SAMPLES["elderly"]
    assert (session.masked_id, session.masked_name, session.age) == (card.masked_id, "张*明", 80)
    assert session.key_hash == hmac.new(identity_key(SECRET), card.id_number.encode(), hashlib.sha256).hexdigest()
    await until(lambda: "identity.session" in rig.types())
    event = next(e for e in rig.events() if e.type is EventType.IDENTITY_SESSION)
    assert event.topics == ("kiosk:k1",) and event.seq is not None  # committed: every worker hears it
    data = event.data
    assert (data["priority"], data["age"], data["expired"], data["card_type"]) == ("priority", 80, False, "resident")
    assert "key_hash" not in data and card.id_number not in repr(rig.events()) and card.name not in repr(data)
    assert await rig.kiosks.sessions.session("k2") is None
    assert (await rig.kiosks.sessions.snapshot("k1"))["session"] == data


async def test_young_adult_session_has_normal_priority(rig: Rig) -> None:
    session = await rig.kiosks.card_placed("k1", reading("young"))
    assert rig.kiosks.sessions.priority(session).value == "normal"


async def test_expired_card_opens_a_session_with_a_warning_by_default(rig: Rig) -> None:
    # identity.expired_card defaults to warn: the very reason people come to 户籍 is an expired card
    session = await rig.kiosks.card_placed("k1", reading("expired"))
    assert session is not None and session.expired
    assert session.public(rig.kiosks.sessions.priority(session))["warning"]["code"] == "expired_warning"


@pytest.mark.parametrize(("key", "code"), [("bad_check", "invalid_number")])
async def test_refused_cards_open_no_session(rig: Rig, key: str, code: str) -> None:
    assert await rig.kiosks.card_placed("k1", reading(key)) is None
    await until(lambda: "identity.refused" in rig.types())
    data = last(rig, EventType.IDENTITY_REFUSED)
    assert data["reason"]["code"] == code and data["reason"]["zh"] and data["reason"]["en"]
    assert await rig.kiosks.sessions.session("k1") is None
    assert SAMPLES[key].id_number not in repr(rig.events())


async def test_unaccepted_and_unknown_card_types_are_refused(demo_config: HallConfig, tmp_path: Path) -> None:
    cfg = hall_config(demo_config, tmp_path, identity={"accepted_card_types": ["resident"]})
    rig = await open_rig(cfg, tmp_path / "t.db")
    try:
        await rig.kiosks.card_placed("k1", reading("permit_j"))
        unknown = CardReading.from_card(dataclasses.replace(SAMPLES["young"], card_type=CardType.UNKNOWN))
        await rig.kiosks.card_placed("k1", unknown)
        await until(lambda: rig.types().count("identity.refused") == 2)
        codes = [e.data["reason"]["code"] for e in rig.events() if e.type is EventType.IDENTITY_REFUSED]
        assert codes == ["unsupported_card", "unsupported_card"]
    finally:
        await close_rig(rig)


async def test_expired_card_with_warn_policy_opens_a_session(demo_config: HallConfig, tmp_path: Path) -> None:
    rig = await open_rig(hall_config(demo_config, tmp_path, identity={"expired_card": "warn"}), tmp_path / "t.db")
    try:
        session = await rig.kiosks.card_placed("k1", reading("expired"))
        assert session is not None and session.expired
        await until(lambda: "identity.session" in rig.types())
        assert last(rig, EventType.IDENTITY_SESSION)["warning"]["code"] == "expired_warning"
    finally:
        await close_rig(rig)


async def test_lifting_the_card_and_a_new_card_end_the_session(rig: Rig) -> None:
    await rig.kiosks.card_placed("k1", reading("young"))
    await rig.kiosks.card_placed("k1", reading("elderly"))
    await until(lambda: len(rig.types()) == 3)
    assert rig.types() == ["identity.session", "identity.ended", "identity.session"]
    assert last(rig, EventType.IDENTITY_ENDED)["reason"] == "replaced"
    assert await rig.kiosks.card_removed("k1") is True
    assert await rig.kiosks.card_removed("k1") is False  # nothing left to end: no second event
    await until(lambda: len(rig.types()) == 4)
    assert last(rig, EventType.IDENTITY_ENDED)["reason"] == "card_removed"
    assert await rig.kiosks.sessions.session("k1") is None


async def test_session_times_out_and_one_sweep_announces_it(rig: Rig, config: HallConfig, tmp_path: Path) -> None:
    other = await open_rig(config, tmp_path / "hall.db", clock=rig.clock)  # a second worker, same file
    try:
        await rig.kiosks.card_placed("k1", reading("young"))
        rig.clock.advance(config.identity.session_timeout_s + 1)
        assert await rig.kiosks.sessions.session("k1") is None  # expired is gone at once for readers
        assert await rig.kiosks.sessions.sweep() + await other.kiosks.sessions.sweep() == 1
        await until(lambda: "identity.ended" in rig.types())
        assert last(rig, EventType.IDENTITY_ENDED)["reason"] == "timeout"
    finally:
        await close_rig(other)


async def test_card_session_is_seen_by_a_second_worker_on_the_same_file(
    rig: Rig, config: HallConfig, tmp_path: Path
) -> None:
    other = await open_rig(config, tmp_path / "hall.db")
    try:
        placed = await rig.kiosks.card_placed("k1", reading("elderly"))
        seen = await other.kiosks.sessions.session("k1")
        assert seen == placed
        # the other worker's poller publishes the committed identity event to its own page sockets
        await until(lambda: "identity.session" in other.types())
        assert await other.kiosks.sessions.end("k1") is True
        assert await rig.kiosks.sessions.session("k1") is None
    finally:
        await close_rig(other)


async def test_a_restart_keeps_the_session(config: HallConfig, tmp_path: Path) -> None:
    first = await open_rig(config, tmp_path / "r.db")
    await first.kiosks.card_placed("k2", reading("young"))
    await close_rig(first)
    again = await open_rig(config, tmp_path / "r.db")
    try:
        assert (await again.kiosks.sessions.session("k2")) is not None
    finally:
        await close_rig(again)


async def test_unknown_kiosk_is_refused(rig: Rig) -> None:
    with pytest.raises(NotFound) as info:
        await rig.kiosks.card_placed("k9", reading("young"))
    assert info.value.code == "unknown_kiosk"


async def test_nothing_private_is_stored(rig: Rig, tmp_path: Path) -> None:
    for key in ("elderly", "young", "bad_check"):
        await rig.kiosks.card_placed("k1", reading(key))
    rig.store.close()
    blobs = [p.read_bytes() for p in tmp_path.glob("hall.db*")]
    assert blobs
    for secret in [SAMPLES[k].id_number for k in ("elderly", "young", "bad_check")] + [SAMPLES["elderly"].name]:
        for blob in blobs:
            assert secret.encode() not in blob and secret.encode("utf-16-le") not in blob, secret
    assert SAMPLES["elderly"].id_number not in repr(reading("elderly"))


class RecordingPort:
    """The reader wiring's port, recording calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def card_placed(self, kiosk: str, reading: CardReading) -> None:
        self.calls.append(("placed", (kiosk, reading)))

    async def card_removed(self, kiosk: str) -> None:
        self.calls.append(("removed", kiosk))

    async def publish(self, type: EventType, topics: tuple[str, ...], payload: dict[str, Any]) -> None:
        self.calls.append(("publish", (type, topics, payload)))


async def test_reader_wiring_forwards_card_events_to_the_port() -> None:
    port = RecordingPort()
    wiring = ReaderWiring(port)
    await wiring.handle("k1", CardEvent("placed", SAMPLES["elderly"]))
    await wiring.handle("k1", CardEvent("removed"))
    await wiring.handle("k2", CardEvent("read_failed", detail="read: 41"))
    placed, removed, failed = port.calls
    assert placed == ("placed", ("k1", reading("elderly"))) and removed == ("removed", "k1")
    type_, topics, data = failed[1]
    assert (type_, topics, data["code"]) == (EventType.IDENTITY_READ_FAILED, ("kiosk:k2",), "read_failed")
    assert "重新" in data["zh"]


def test_secret_file_is_created_once_with_0600(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret.key"
    first = load_or_create_secret(path)
    assert len(first) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first
    key = identity_key(first)
    assert key_hash("11010519491231002x", key) == key_hash("11010519491231002X", key)
    assert key_hash("11010519491231002X", key) != key_hash("11010519491231002X", identity_key(b"t" * 32))
    assert "11010519491231002X" not in key_hash("11010519491231002X", key)
