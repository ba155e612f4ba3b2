"""The simulator's command console and its answers to every command of the protocol page."""

from __future__ import annotations

import io
import json

from drivers.idcard import codec
from drivers.idcard.codec import Command, RequestParser, SamStatus, parse_response
from drivers.idcard.samples import SAMPLES
from drivers.idcard.simulator import SamSimulator, _console


async def test_console_places_and_removes_cards_and_injects_faults() -> None:
    sim = SamSimulator("sim-idcard", {"card": "young"})
    out = io.StringIO()
    commands = "place elderly\nfault silence\nfault on_fire\nfault none\nremove\nquit\nstate\n"
    await _console(sim, io.StringIO(commands), out)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert answers[0]["card"]["masked_name"] == "张*明"
    assert answers[1]["fault"] == "silence"
    assert answers[2].startswith("error:")
    assert answers[3]["fault"] is None and answers[4]["card"] is None
    assert len(answers) == 5  # nothing after quit
    assert SAMPLES["elderly"].id_number not in out.getvalue()


def answer(sim: SamSimulator, frame: bytes) -> SamStatus | None:
    (request,) = RequestParser().feed(frame)
    reply = sim.reply(request)
    assert reply is not None
    return parse_response(reply).status


def test_every_command_gets_a_correct_frame() -> None:
    sim = SamSimulator()
    assert answer(sim, codec.RESET) is SamStatus.OK
    assert answer(sim, codec.STATUS) is SamStatus.OK
    assert answer(sim, codec.SAM_ID) is SamStatus.OK
    assert answer(sim, codec.FIND) is SamStatus.FIND_FAILED
    assert answer(sim, codec.SELECT) is SamStatus.SELECT_FAILED
    assert answer(sim, codec.READ) is SamStatus.READ_FAILED
    assert answer(sim, codec.set_baud_request(9600)) is SamStatus.OK
    assert answer(sim, codec.set_rf_frame_request(0x50)) is SamStatus.OK
    assert answer(sim, codec.build_frame(b"\x77\x01")) is SamStatus.BAD_COMMAND
    sim.card = SAMPLES["young"]
    assert answer(sim, codec.FIND) is SamStatus.CARD_FOUND
    assert answer(sim, codec.SELECT) is SamStatus.OK
    assert answer(sim, codec.READ) is SamStatus.OK
    assert answer(sim, codec.READ) is SamStatus.READ_FAILED  # find and select again before each read
    for frame in (codec.FIND, codec.SELECT):
        answer(sim, frame)
    assert answer(sim, codec.READ_FINGERPRINT) is SamStatus.OK
    assert answer(sim, codec.READ_ADDRESS) is SamStatus.ITEM_ABSENT
    sim.inject("self_test_failure")
    assert answer(sim, codec.STATUS) is SamStatus.SELF_TEST_FAILED
    assert {Command.STATUS.name.lower(), "find", "read"} <= set(sim.requests)
