"""The GSM modem driver against its simulator, over socket:// and a pty (both ends raw)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from drivers.gsm import pdu
from drivers.gsm.driver import NO_NETWORK, NO_SIM, SEND_FAILED, GsmModem
from drivers.gsm.simulator import GsmSimulator
from drivers.health import DeviceState
from drivers.registry import build
from tests.support.polling import until

OPTIONS = {"health_interval": 0.2, "command_timeout": 2.0, "send_timeout": 5.0}
CHINESE = "【政务服务中心】您的A015号即将办理，请到3号窗口。"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "screenshots" / "E"


@pytest.fixture(params=["socket", "pty"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[GsmSimulator, GsmModem]]:
    sim = GsmSimulator("modem-1", {})
    url = await sim.start() if request.param == "socket" else await sim.start_pty()
    modem = build("modem-1", "sms_modem", "gsm_at", url, OPTIONS)
    await modem.open()
    assert await modem.wait_ready(5.0)
    yield sim, modem
    await modem.close()
    await sim.stop()


async def test_setup_dialogue_and_health(pair: tuple[GsmSimulator, GsmModem]) -> None:
    sim, modem = pair
    assert modem.health.state == DeviceState.READY, modem.health
    assert sim.pdu_mode and sim.report_mode == 1 and not sim.echo
    assert modem.signal is not None and modem.signal.dbm == -113 + 2 * 21
    assert "signal -71 dBm" in (modem.health.detail or "")
    sent = [line for line in sim.dialogue if line.startswith(">>")]
    assert sent[:6] == [">> ATE0", ">> AT+CMEE=1", ">> AT+CPIN?", ">> AT+CMGF=0", ">> AT+CNMI=2,1,0,1,0", ">> AT+CREG?"]


async def test_chinese_message_is_one_ucs2_pdu_with_its_report(pair: tuple[GsmSimulator, GsmModem]) -> None:
    sim, modem = pair
    reports = modem.reports()
    result = await modem.send_sms("+8613800138000", CHINESE)
    assert result.sent and result.parts == 1 and result.references == (1,)
    part = sim.sent[0]
    assert (part.number, part.text, part.dcs, part.status_report) == ("+8613800138000", CHINESE, pdu.DCS_UCS2, True)
    # the bytes on the wire: the PDU the codec builds, after the prompt, ended by Ctrl-Z
    expected = pdu.submit_pdus("+8613800138000", CHINESE, reference=0)[0]
    assert f">> {expected.hex}<Ctrl-Z>" in sim.dialogue
    assert f">> AT+CMGS={expected.tpdu_length}" in sim.dialogue
    report = await asyncio.wait_for(anext(reports), 3.0)
    assert (report.reference, report.recipient, report.outcome) == (1, "+8613800138000", "delivered")
    await reports.aclose()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "at-dialogue.txt").write_text(
        "# AT dialogue of one sent message: drivers/gsm/driver.py (>> host) and its simulator (<< modem)\n"
        + "\n".join(modem.dialogue) + "\n", encoding="utf-8")  # fmt: skip


async def test_three_part_message_is_concatenated(pair: tuple[GsmSimulator, GsmModem]) -> None:
    sim, modem = pair
    text = "预约提醒：" + "请携带身份证原件及复印件。" * 11  # > 134 UCS-2 octets twice over
    result = await modem.send_sms("13800138000", text)
    assert result.sent and result.parts == 3 and len(set(result.references)) == 3
    parts = sim.sent
    assert [p.part for p in parts] == [1, 2, 3] and {p.parts for p in parts} == {3}
    assert len({p.reference for p in parts}) == 1 and parts[0].reference is not None
    assert sim.messages() == [{"number": "13800138000", "text": text, "parts": 3, "dcs": pdu.DCS_UCS2}]


async def test_a_failed_delivery_report_is_read(pair: tuple[GsmSimulator, GsmModem]) -> None:
    sim, modem = pair
    reports = modem.reports()
    sim.inject("report_failed")
    result = await modem.send_sms("+8613800138000", "hello")
    assert result.sent
    report = await asyncio.wait_for(anext(reports), 3.0)
    assert (report.status, report.outcome) == (0x41, "failed")
    await sim.act("report", {"reference": result.references[0], "status": 0x21})  # SME busy: still trying
    report = await asyncio.wait_for(anext(reports), 3.0)
    assert report.outcome == "pending"
    await reports.aclose()


async def test_send_failure_is_named_and_the_modem_stays_ready(pair: tuple[GsmSimulator, GsmModem]) -> None:
    sim, modem = pair
    sim.inject("send_failed")
    result = await modem.send_sms("+8613800138000", "你好")
    assert not result.sent and result.fault == SEND_FAILED and "+CMS ERROR: 500" in (result.detail or "")
    assert modem.health.state == DeviceState.READY
    sim.inject(None)
    assert (await modem.send_sms("+8613800138000", "你好")).sent


async def test_no_network_is_in_health_and_sending_resumes(pair: tuple[GsmSimulator, GsmModem]) -> None:
    sim, modem = pair
    sim.inject("no_network")
    await until(lambda: NO_NETWORK in modem.health.faults, timeout=5.0)
    result = await modem.send_sms("+8613800138000", "你好")
    assert not result.sent and result.fault == NO_NETWORK
    assert sim.sent == []  # refused before anything went to the modem
    sim.inject(None)
    await until(lambda: modem.health.state == DeviceState.READY, timeout=5.0)
    assert (await modem.send_sms("+8613800138000", "你好")).sent


async def test_no_sim_is_a_fault_until_the_sim_is_back() -> None:
    sim = GsmSimulator("modem-2", {})
    sim.inject("no_sim")
    url = await sim.start()
    modem = GsmModem("modem-2", url, OPTIONS)
    modem.backoff.initial = 0.05
    await modem.open()
    try:
        await until(lambda: NO_SIM in modem.health.faults, timeout=5.0)
        assert (await modem.send_sms("+8613800138000", "hi")).fault == NO_SIM
        sim.inject(None)
        await until(lambda: modem.health.state == DeviceState.READY, timeout=10.0)
    finally:
        await modem.close()
        await sim.stop()


async def test_sim_pin_is_entered_from_the_options() -> None:
    sim = GsmSimulator("modem-3", {"pin": "4321"})
    sim.inject("pin")
    url = await sim.start()
    async with GsmModem("modem-3", url, {**OPTIONS, "pin": "4321"}) as modem:
        assert await modem.wait_ready(5.0)
        assert ">> AT+CPIN=4321" in sim.dialogue and modem.health.state == DeviceState.READY
    await sim.stop()
