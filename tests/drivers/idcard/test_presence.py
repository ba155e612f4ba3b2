"""Card presence after a read: a reader that answers FIND with 80 while the read card still lies there."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.contract import CardEvent
from drivers.idcard import codec
from drivers.idcard.codec import Command, FrameParser, SamCodecError, SamStatus, build_response, card_present
from drivers.idcard.driver import SamReader
from drivers.idcard.simulator import SamSimulator
from tests.support import until

# poll_interval 0.01: 60 polls (30 s of a real reader at 0.5 s) take well under a second
FAST = {"poll_interval": 0.01, "status_interval": 0.1, "reply_timeout": 0.25, "read_timeout": 0.4}
POLLS_IN_30_S = 60


def drain(events: AsyncIterator[CardEvent]) -> list[str]:
    queue = events.queue  # type: ignore[attr-defined]
    out = []
    while not queue.empty():
        out.append(queue.get_nowait().kind)
    return out


@pytest.fixture(params=["socket", "pty"])
async def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def run_reader(transport: str, presence: str) -> tuple[SamSimulator, SamReader]:
    sim = SamSimulator("idcard-halt", {"model": "halt_after_read", "chunks": 2, "chunk_delay": 0.002})
    url = await sim.start() if transport == "socket" else await sim.start_pty()
    reader = SamReader("idcard-halt", url, {**FAST, "presence": presence})
    await reader.open()
    assert await reader.wait_ready(5)
    return sim, reader


@pytest.mark.parametrize("presence", ["select", "read_address"])
async def test_card_lying_still_for_30_s_is_one_placement(transport: str, presence: str) -> None:
    sim, reader = await run_reader(transport, presence)
    try:
        events = reader.events()
        await sim.act("place_card", {"card": "elderly"})
        await until(lambda: reader.reads == 1)
        start = sim.requests["find"]
        await until(lambda: sim.requests["find"] >= start + POLLS_IN_30_S)
        assert sim.state()["halted"]  # FIND has answered 80 all along
        assert drain(events) == ["placed"]  # one placement, never "removed" in between
        assert reader.reads == 1 and sim.requests["read"] == 1  # presence was checked without re-reading
        await sim.act("remove_card", {})
        seen: list[str] = []
        await until(lambda: "removed" in seen or bool(seen.extend(drain(events))))
        assert seen == ["removed"]
        await sim.act("place_card", {"card": "young"})  # a new placement is read again
        await until(lambda: reader.reads == 2)
    finally:
        await reader.close()
        await sim.stop()


async def test_a_card_swapped_between_two_polls_is_a_new_placement(transport: str) -> None:
    sim, reader = await run_reader(transport, "select")
    try:
        events = reader.events()
        await sim.act("place_card", {"card": "elderly"})
        await until(lambda: sim.state()["halted"] and sim.requests["select"] >= 3)  # presence confirmed by SELECT
        await sim.act("remove_card", {})
        await sim.act("place_card", {"card": "young"})  # at once: the reader never sees an empty field
        await until(lambda: reader.reads == 2)
        seen: list[str] = []
        await until(lambda: len(seen) >= 3 or bool(seen.extend(drain(events))))
        assert seen == ["placed", "removed", "placed"]  # the first citizen's session ends, the next one's starts
    finally:
        await reader.close()
        await sim.stop()


async def test_without_the_check_the_same_reader_ends_the_placement(transport: str) -> None:
    sim, reader = await run_reader(transport, "find")
    try:
        events = reader.events()
        await sim.act("place_card", {"card": "elderly"})
        seen: list[str] = []
        await until(lambda: "removed" in seen or bool(seen.extend(drain(events))))
        assert seen == ["placed", "removed"]  # the false removal this option exists for: the card still lies there
        assert sim.state()["card"] is not None and reader.reads == 1
    finally:
        await reader.close()
        await sim.stop()


async def test_standard_reader_model_is_unchanged(transport: str) -> None:
    sim = SamSimulator("idcard-std", {})
    url = await sim.start() if transport == "socket" else await sim.start_pty()
    reader = SamReader("idcard-std", url, FAST)
    await reader.open()
    try:
        assert await reader.wait_ready(5)
        events = reader.events()
        await sim.act("place_card", {"card": "young"})
        await until(lambda: reader.reads == 1)
        start = sim.requests["find"]
        await until(lambda: sim.requests["find"] >= start + 20)
        assert drain(events) == ["placed"] and sim.requests["select"] == 1  # FIND says 9F: no checks
    finally:
        await reader.close()
        await sim.stop()


def test_presence_answers() -> None:
    parse = FrameParser().feed
    [selected] = parse(bytes.fromhex("AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C"))
    [select_failed] = parse(bytes.fromhex("AA AA AA 96 69 00 04 00 00 81 85"))
    [no_card] = parse(bytes.fromhex("AA AA AA 96 69 00 04 00 00 80 84"))
    assert card_present(Command.SELECT, selected) and not card_present(Command.SELECT, select_failed)
    assert not card_present(Command.FIND, no_card)
    assert card_present(Command.READ_ADDRESS, codec.Response(0, 0, SamStatus.ITEM_ABSENT))
    with pytest.raises(SamCodecError):
        card_present(Command.SELECT, codec.Response(0, 0, SamStatus.CHECKSUM_ERROR))
    with pytest.raises(SamCodecError):
        card_present(Command.READ, selected)


_ANSWERS = [build_response(s) for s in (0x80, 0x81, 0x90, 0x91, 0x41, 0x10)] + [build_response(0x9F, bytes(4))]


@settings(max_examples=300, deadline=None)
@given(
    garbage=st.binary(max_size=64),
    answers=st.lists(st.sampled_from(_ANSWERS), min_size=1, max_size=5),
    command=st.sampled_from([Command.FIND, Command.SELECT, Command.READ_ADDRESS]),
    chunk=st.integers(1, 16),
)
def test_presence_answers_fuzz(garbage: bytes, answers: list[bytes], command: Command, chunk: int) -> None:
    """Arbitrary bytes before presence answers: only codec errors, and the answers come through."""
    parser = FrameParser()
    stream = garbage + b"".join(answers)
    got = []
    for i in range(0, len(stream), chunk):
        with contextlib.suppress(SamCodecError):  # the only exception allowed
            got += parser.feed(stream[i : i + chunk])
    for response in got:
        with contextlib.suppress(SamCodecError):
            card_present(command, response)
    want = [codec.Response(a[7], a[8], a[9], a[10:-1]) for a in answers]
    assert got[len(got) - len(answers) :] == want  # resynchronised: every answer after the garbage
    assert parser.pending == 0
