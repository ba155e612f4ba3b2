"""Announcers: espeak-ng and clips render non-silent WAVs whose length fits the sentence."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from displays import speech
from drivers.announcer import audio
from drivers.announcer.clips import ClipAnnouncer
from drivers.announcer.espeak import ESPEAK_MISSING, EspeakAnnouncer
from drivers.contract import Announcer
from drivers.errors import DeviceFault
from drivers.health import DeviceState
from drivers.registry import build

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
SENTENCE = speech.sentence("A001", 12)  # 请A零零一号到十二号窗口办理: 13 syllables


def syllables(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def assert_speech_like(pcm: audio.Pcm, text: str) -> None:
    # Mandarin at 150 wpm: roughly 0.15–0.6 s per syllable; loud enough to hear.
    n = syllables(text)
    assert 0.15 * n <= pcm.seconds <= 0.6 * n + 1.0, pcm.seconds
    assert audio.rms(pcm) > 500


def test_chime_is_audible_and_short() -> None:
    pcm = audio.chime()
    assert 0.5 < pcm.seconds < 2 and audio.rms(pcm) > 1000
    assert audio.read_wav(audio.write_wav(pcm)).samples.tolist() == pcm.samples.tolist()


@needs_espeak
async def test_espeak_renders_sentence(tmp_path: Path) -> None:
    ann = EspeakAnnouncer("announcer-hall", "local", {"cache_dir": str(tmp_path), "chime": False, "repeat": 1})
    await ann.open()
    assert isinstance(ann, Announcer) and ann.health.state == DeviceState.READY
    result = await ann.render(SENTENCE)
    assert not result.cached
    assert_speech_like(audio.read_wav(result.wav), SENTENCE)
    await ann.close()


@needs_espeak
async def test_chime_repeat_cache_and_queue(tmp_path: Path) -> None:
    options = {"cache_dir": str(tmp_path), "chime": True, "repeat": 2, "gap": 0.5}
    ann = build("announcer-hall", "announcer", "espeak", "local", options)
    await ann.open()
    first = await ann.announce(SENTENCE)
    plain = EspeakAnnouncer("x", "local", {"cache_dir": str(tmp_path / "b"), "chime": False, "repeat": 1})
    single = await plain.render(SENTENCE)
    # chime + 0.3 s + speech + 0.5 s + speech
    assert first.seconds == pytest.approx(audio.chime().seconds + 0.3 + 2 * single.seconds + 0.5, abs=0.01)
    again = await ann.announce(SENTENCE)
    assert again.cached and again.wav == first.wav
    key = ann.key_for(SENTENCE)
    assert ann.path_for(key) == tmp_path / f"{key}.wav" and ann.wav_for(key) == first.wav
    assert ann.path_for("../etc/passwd") is None
    await ann.drain(5)
    assert list(ann.played) == [SENTENCE, SENTENCE]
    await ann.close()
    # a fresh announcer (restart) finds the file cache
    fresh = EspeakAnnouncer("announcer-hall", "local", options)
    assert (await fresh.render(SENTENCE)).cached


@needs_espeak
async def test_concurrent_renders_of_one_text_run_once(tmp_path: Path) -> None:
    ann = EspeakAnnouncer("a", "local", {"cache_dir": str(tmp_path)})
    results = await asyncio.gather(*(ann.render("请B002号到3号窗口办理") for _ in range(5)))
    assert len({r.wav for r in results}) == 1
    assert len(list(tmp_path.glob("*.wav"))) == 1


async def test_missing_espeak_is_a_fault(tmp_path: Path) -> None:
    ann = EspeakAnnouncer("a", "local", {"cache_dir": str(tmp_path), "espeak": "no-such-espeak"})
    await ann.open()
    assert ann.health.state == DeviceState.FAULT and ESPEAK_MISSING in ann.health.faults
    with pytest.raises(DeviceFault):
        await ann.render("请A001号")
    await ann.close()


@needs_espeak
async def test_clips_generated_on_demand_and_joined(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    ann = ClipAnnouncer("announcer-hall", "local", {"folder": str(folder), "cache_dir": str(tmp_path / "c"),
                                                    "chime": False, "repeat": 1})  # fmt: skip
    await ann.open()
    assert ann.tokenize("请A零零一号到十二号窗口办理") == [
        "请", "A", "零", "零", "一", "号", "到", "十", "二", "号", "窗口", "办理",
    ]  # fmt: skip
    result = await ann.render(SENTENCE)
    assert (folder / "窗口.wav").is_file() and (folder / "A.wav").is_file()
    assert_speech_like(audio.read_wav(result.wav), SENTENCE)
    await ann.close()


async def test_clips_without_generation_report_missing_clip(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "请.wav").write_bytes(audio.write_wav(audio.chime()))
    ann = ClipAnnouncer("a", "local", {"folder": str(folder), "cache_dir": str(tmp_path), "generate": False})
    await ann.open()
    assert ann.health.state == DeviceState.READY
    with pytest.raises(DeviceFault) as info:
        await ann.render("请A001")
    assert info.value.fault == "missing_clip"
    await ann.close()


async def test_aplay_output_without_aplay_is_a_fault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither aplay nor espeak-ng on this PATH
    ann = EspeakAnnouncer("a", "local", {"cache_dir": str(tmp_path), "output": "aplay"})
    await ann.open()
    assert set(ann.health.faults) == {"no_audio_output", ESPEAK_MISSING}
    with pytest.raises(DeviceFault):
        await ann.announce("请A001号")
    await ann.close()


def test_announcer_url_must_be_local() -> None:
    from drivers.errors import ConfigurationError

    EspeakAnnouncer.check_url("local")
    with pytest.raises(ConfigurationError):
        EspeakAnnouncer.check_url("socket://127.0.0.1:1")


async def test_cache_folder_is_pruned(tmp_path: Path) -> None:
    class Tone(EspeakAnnouncer):
        async def synthesize(self, text: str) -> audio.Pcm:
            return audio.silence(0.01)  # no espeak needed: only the cache is under test

    ann = Tone("a", "local", {"cache_dir": str(tmp_path), "chime": False, "repeat": 1, "cache_files": 10,
                              "memory_items": 5})  # fmt: skip
    for i in range(27):
        await ann.render(f"请A{i:03d}号")
    assert 10 <= len(list(tmp_path.glob("*.wav"))) <= 10 + 25  # pruned every 25 writes
    assert len(ann._memory) == 5
    await ann.render("请A999号")  # the 28th write does not prune; the 26th did
    files = sorted(tmp_path.glob("*.wav"), key=lambda p: p.stat().st_mtime)
    assert len(files) == 12 and ann.wav_for(ann.key_for("请A999号")) is not None
