"""The kiosk identity flow: sessions from card events, refusals, tickets bound to an identity, privacy."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import stat
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from drivers.contract import CardEvent
from drivers.idcard.card import CardType
from drivers.idcard.samples import SAMPLES
from server.devices.identity import IdentitySettings, IdentityWiring
from server.devices.secrets import identity_key, key_hash, load_or_create_secret
from server.errors import Conflict, NotFound

TODAY = date(2026, 11, 27)
SECRET = b"s" * 32


class FakeReader:
    """A reader whose events the test pushes."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[CardEvent] = asyncio.Queue()

    async def _iter(self) -> AsyncIterator[CardEvent]:
        while True:
            yield await self.queue.get()

    def events(self) -> AsyncIterator[CardEvent]:
        return self._iter()


class FakeQueue:
    """Records issue calls; answers with a ticket dict."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def issue(self, service: str, **kwargs: Any) -> dict[str, Any]:
        self.calls.append({"service": service, **kwargs})
        identity = kwargs.get("identity")
        return {"id": len(self.calls), "service": service, "priority": kwargs.get("priority", "normal"),
                "masked_id": identity.masked_id if identity else None}


class Host:
    """The minimal manager interface: queue, publish and readers by kiosk."""

    def __init__(self) -> None:
        self.queue = FakeQueue()
        self.published: list[tuple[str, tuple[str, ...], dict[str, Any]]] = []
        self.readers = {"k1": FakeReader(), "k2": FakeReader()}

    def publish(self, type_: str, topics: tuple[str, ...], data: dict[str, Any]) -> None:
        self.published.append((type_, topics, data))

    def types(self) -> list[str]:
        return [p[0] for p in self.published]


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.005)


@pytest.fixture
async def rig() -> AsyncIterator[tuple[IdentityWiring, Host]]:
    host = Host()
    wiring = IdentityWiring(IdentitySettings(session_timeout_s=5), secret=SECRET, today=lambda: TODAY)
    await wiring.start(host)
    yield wiring, host
    await wiring.stop()


async def place(host: Host, kiosk: str, key: str, n: int = 1) -> None:
    card = SAMPLES[key] if isinstance(key, str) else key
    await host.readers[kiosk].queue.put(CardEvent("placed", card))
    await until(lambda: len(host.published) >= n)


async def test_placed_card_opens_a_masked_session(rig: tuple[IdentityWiring, Host]) -> None:
    wiring, host = rig
    await place(host, "k1", "elderly")
    type_, topics, data = host.published[-1]
    assert (type_, topics) == ("identity.session", ("kiosk:k1",))
    card = SAMPLES["elderly"]
    assert data["masked_id"] == card.masked_id and data["masked_name"] == "张*明"
    assert (data["age"], data["priority"], data["expired"], data["card_type"]) == (80, "priority", False, "resident")
    assert data["session_id"] and wiring.session("k1") is not None and wiring.session("k2") is None
    assert card.id_number not in repr(host.published) and card.name not in repr(host.published)
    assert card.id_number not in repr(wiring.session("k1"))


async def test_kiosk_snapshot_for_the_websocket(rig: tuple[IdentityWiring, Host]) -> None:
    wiring, host = rig
    assert await wiring.kiosk_snapshot("k1") == {"session": None}
    await place(host, "k1", "young")
    snap = await wiring.kiosk_snapshot("k1")
    assert snap["session"]["masked_name"] == "李*" and snap["session"] == host.published[-1][2]


async def test_lifting_the_card_ends_the_session(rig: tuple[IdentityWiring, Host]) -> None:
    wiring, host = rig
    await place(host, "k1", "young")
    await host.readers["k1"].queue.put(CardEvent("removed"))
    await until(lambda: len(host.published) == 2)
    assert host.published[-1][0] == "identity.ended" and host.published[-1][2]["reason"] == "card_removed"
    assert wiring.session("k1") is None


@pytest.mark.parametrize(("key", "reason"), [("bad_check", "invalid_number"), ("expired", "card_expired")])
async def test_refused_cards(rig: tuple[IdentityWiring, Host], key: str, reason: str) -> None:
    wiring, host = rig
    await place(host, "k1", key)
    type_, _, data = host.published[-1]
    assert type_ == "identity.refused" and data["reason"]["code"] == reason
    assert data["reason"]["zh"] and data["reason"]["en"]
    assert wiring.session("k1") is None
    assert SAMPLES[key].id_number not in repr(host.published)


async def test_unknown_and_unaccepted_card_types_are_refused() -> None:
    host = Host()
    wiring = IdentityWiring(IdentitySettings(accepted_card_types=(CardType.RESIDENT,)), secret=SECRET,
                            today=lambda: TODAY)
    await wiring.start(host)
    try:
        await place(host, "k1", "permit_j")
        await place(host, "k1", dataclasses.replace(SAMPLES["young"], card_type=CardType.UNKNOWN), 2)
        assert [p[2]["reason"]["code"] for p in host.published] == ["unsupported_card", "unsupported_card"]
    finally:
        await wiring.stop()


async def test_expired_card_with_warn_policy_opens_a_session() -> None:
    host = Host()
    wiring = IdentityWiring(IdentitySettings(expired_card="warn"), secret=SECRET, today=lambda: TODAY)
    await wiring.start(host)
    try:
        await place(host, "k1", "expired")
        type_, _, data = host.published[-1]
        assert type_ == "identity.session" and data["expired"] is True and data["warning"]["zh"]
    finally:
        await wiring.stop()


async def test_read_failure_asks_to_lay_the_card_again(rig: tuple[IdentityWiring, Host]) -> None:
    _, host = rig
    await host.readers["k2"].queue.put(CardEvent("read_failed", detail="read: 41 read_failed"))
    await until(lambda: len(host.published) == 1)
    type_, topics, data = host.published[0]
    assert (type_, topics) == ("identity.read_failed", ("kiosk:k2",)) and "重新" in data["zh"]


async def test_session_times_out() -> None:
    host = Host()
    wiring = IdentityWiring(IdentitySettings(session_timeout_s=0.05), secret=SECRET, today=lambda: TODAY)
    await wiring.start(host)
    try:
        await place(host, "k1", "young")
        await until(lambda: host.types()[-1] == "identity.ended")
        assert host.published[-1][2]["reason"] == "timeout" and wiring.session("k1") is None
    finally:
        await wiring.stop()


async def test_a_new_card_replaces_the_session(rig: tuple[IdentityWiring, Host]) -> None:
    wiring, host = rig
    await place(host, "k1", "young")
    await place(host, "k1", "elderly", 3)
    assert host.types() == ["identity.session", "identity.ended", "identity.session"]
    session = wiring.session("k1")
    assert session is not None and session.priority == "priority"


async def test_issue_with_session_passes_the_keyed_identity(rig: tuple[IdentityWiring, Host]) -> None:
    wiring, host = rig
    await place(host, "k1", "elderly")
    ticket = await wiring.issue_with_session("k1", "general")
    call = host.queue.calls[-1]
    identity = call["identity"]
    card = SAMPLES["elderly"]
    expected_hash = hmac.new(identity_key(SECRET), card.id_number.encode(), hashlib.sha256).hexdigest()
    assert identity.key_hash == expected_hash
    assert (identity.masked_id, identity.masked_name, identity.birth_date) == (card.masked_id, "张*明", card.birth_date)
    assert (call["priority"], call["kiosk"], call["channel"]) == ("priority", "k1", "kiosk")
    assert ticket["masked_id"] == card.masked_id
    assert wiring.session("k1").tickets == [1]  # type: ignore[union-attr]
    await wiring.issue_with_session("k2", "general")  # no card on k2: no identity
    assert host.queue.calls[-1].get("identity") is None and host.queue.calls[-1]["kiosk"] == "k2"


async def test_young_adult_gets_normal_priority_and_session_can_end_after_ticket() -> None:
    host = Host()
    wiring = IdentityWiring(IdentitySettings(end_after_ticket=True), secret=SECRET, today=lambda: TODAY,
                            elderly_age=65)
    await wiring.start(host)
    try:
        await place(host, "k1", "young")
        await wiring.issue_with_session("k1", "general")
        assert host.queue.calls[-1]["priority"] == "normal"
        assert wiring.session("k1") is None and host.published[-1][2]["reason"] == "ticket_issued"
    finally:
        await wiring.stop()


async def test_issue_needs_a_queue_and_a_known_kiosk() -> None:
    wiring = IdentityWiring(secret=SECRET, kiosks={"k1"})
    with pytest.raises(Conflict) as info:
        await wiring.issue_with_session("k1", "general")
    assert info.value.code == "identity_unavailable"
    with pytest.raises(NotFound) as missing:
        await wiring.issue_with_session("k9", "general", queue=FakeQueue())
    assert missing.value.code == "unknown_kiosk"
    queue = FakeQueue()
    assert (await wiring.issue_with_session("k1", "general", queue=queue))["id"] == 1


def test_secret_file_is_created_once_with_0600(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret.key"
    first = load_or_create_secret(path)
    assert len(first) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first
    key = identity_key(first)
    assert key_hash("11010519491231002x", key) == key_hash("11010519491231002X", key)
    assert key_hash("11010519491231002X", key) != key_hash("11010519491231002X", identity_key(b"t" * 32))
    assert "11010519491231002X" not in key_hash("11010519491231002X", key)


async def test_secret_is_created_lazily_under_the_configured_path(tmp_path: Path) -> None:
    wiring = IdentityWiring(secret_path=tmp_path / "secret.key")
    assert not (tmp_path / "secret.key").exists()
    assert wiring.key == identity_key((tmp_path / "secret.key").read_bytes())
