"""Shared machinery of announcers: cache (memory + files), chime, repeats, a playback queue.

An engine subclass only turns one sentence into speech (:meth:`synthesize`). This base
adds the optional chime, the repeats, caching by text, and a single playback worker so
announcements never overlap. ``output: none`` only renders (the hall display page
fetches ``/api/announcements/<key>.wav``); ``output: aplay`` also plays on the local
audio device.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.announcer import audio
from drivers.base import Device
from drivers.contract import Announcement
from drivers.errors import DeviceConfigError, DeviceFault
from drivers.health import DeviceState

log = logging.getLogger("hallq.devices.announcer")

_KEY_RE = re.compile(r"^[0-9a-f]{20}$")
NO_AUDIO_OUTPUT = "no_audio_output"


@functools.lru_cache(maxsize=4)
def _chime(rate: int) -> audio.Pcm:
    return audio.chime(rate)


class AnnouncerOptions(BaseModel):
    """Options common to every announcer engine."""

    model_config = ConfigDict(extra="forbid")

    voice: str = "cmn"
    speed: int = Field(150, ge=80, le=450)  # words per minute (espeak-ng -s)
    pitch: int = Field(50, ge=0, le=99)
    amplitude: int = Field(100, ge=0, le=200)
    chime: bool = True
    repeat: int = Field(2, ge=1, le=5)
    gap: float = Field(0.8, ge=0, le=5)  # seconds between repeats
    output: Literal["none", "aplay"] = "none"
    audio_device: str | None = None  # aplay -D
    cache_dir: str = "var/announcements"
    # A call with chime and two repeats is ~0.6 MB of WAV and nearly every call is a new
    # sentence, so both caches are bounded; recalls and the display page's fetch hit them.
    memory_items: int = Field(32, ge=1)
    cache_files: int = Field(300, ge=10)
    espeak: str = "espeak-ng"
    timeout: float = Field(10.0, gt=0)
    # wording for displays.speech (templates per hall, letter/digit readings)
    templates: dict[str, str] = Field(default_factory=dict)
    letters: dict[str, str] = Field(default_factory=dict)
    digits: str | None = None
    trace: bool = False


class AnnouncerBase(Device):
    """Cache, chime, repeat and queue around an engine's :meth:`synthesize`."""

    kind: ClassVar[str] = "announcer"
    Options: ClassVar[type[BaseModel]] = AnnouncerOptions
    options: AnnouncerOptions

    def __init__(self, device_id: str, url: str = "local", options: Any = None) -> None:
        super().__init__(device_id, url, options)
        opts = self.options
        self.cache_dir = Path(opts.cache_dir)
        self._memory: OrderedDict[str, Announcement] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[Announcement]] = {}
        self._queue: asyncio.Queue[Announcement] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._player: asyncio.subprocess.Process | None = None
        self.played: deque[str] = deque(maxlen=100)  # texts handed to the output, in order (tests)
        self._saves = 0

    @classmethod
    def check_url(cls, url: str) -> None:
        """Announcers run on this machine: the URL is ``local`` (the output is an option)."""
        if url != "local":
            raise DeviceConfigError(f"announcer url must be 'local', not {url!r} (set options.output instead)")

    # --- lifecycle --------------------------------------------------------------------

    def check(self) -> list[str]:
        """Faults found now (missing programs); engines extend."""
        if self.options.output == "aplay" and shutil.which("aplay") is None:
            return [NO_AUDIO_OUTPUT]
        return []

    async def on_open(self) -> None:
        """Check dependencies, start the playback worker."""
        faults = self.check()
        if faults:
            self.tracker.set(DeviceState.FAULT, faults, "; ".join(faults))
        else:
            self.tracker.set(DeviceState.READY)
        if self._worker is None:
            self._worker = asyncio.create_task(self._play_loop(), name=f"announcer-{self.device_id}")

    async def on_close(self) -> None:
        """Stop playing."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker
            self._worker = None
        if self._player is not None and self._player.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._player.kill()

    # --- engine hook -------------------------------------------------------------------

    async def synthesize(self, text: str) -> audio.Pcm:
        """One spoken sentence (no chime, no repeat)."""
        raise NotImplementedError

    def engine_signature(self) -> str:
        """What changes the audio besides the text (part of the cache key)."""
        o = self.options
        return f"{self.name}|{o.voice}|{o.speed}|{o.pitch}|{o.amplitude}|{o.chime}|{o.repeat}|{o.gap}"

    # --- cache ---------------------------------------------------------------------------

    def key_for(self, text: str) -> str:
        """Cache key of ``text`` (hex, used in the URL /api/announcements/<key>.wav)."""
        return hashlib.sha256(f"{self.engine_signature()}|{text}".encode()).hexdigest()[:20]

    def path_for(self, key: str) -> Path | None:
        """The cached file of ``key`` if it exists (None for malformed keys)."""
        if not _KEY_RE.match(key):
            return None
        path = self.cache_dir / f"{key}.wav"
        return path if path.is_file() else None

    def wav_for(self, key: str) -> bytes | None:
        """Cached WAV bytes of ``key`` (memory first, then the cache folder)."""
        hit = self._memory.get(key)
        if hit is not None:
            return hit.wav
        path = self.path_for(key)
        return path.read_bytes() if path else None

    def _remember(self, key: str, ann: Announcement) -> None:
        self._memory[key] = ann
        self._memory.move_to_end(key)
        while len(self._memory) > self.options.memory_items:
            self._memory.popitem(last=False)

    async def render(self, text: str) -> Announcement:
        """The full announcement (chime + repeats) for ``text``, from cache when possible."""
        key = self.key_for(text)
        hit = self._memory.get(key)
        if hit is not None:
            self._memory.move_to_end(key)
            return Announcement(text, hit.wav, hit.seconds, cached=True)
        path = self.path_for(key)
        if path is not None:
            wav = await asyncio.to_thread(path.read_bytes)
            ann = Announcement(text, wav, audio.read_wav(wav).seconds, cached=True)
            self._remember(key, ann)
            return ann
        if key in self._inflight:  # the same sentence is being rendered right now
            return await asyncio.shield(self._inflight[key])
        future: asyncio.Future[Announcement] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            ann = await self._render_new(key, text)
            future.set_result(ann)
            return ann
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: nobody else may be waiting
            raise
        finally:
            del self._inflight[key]

    async def _render_new(self, key: str, text: str) -> Announcement:
        speech = await self.synthesize(text)
        # numpy work and the file write run off the event loop (it also carries LED/keypad frames)
        pcm, wav = await asyncio.to_thread(self._compose, speech)
        await asyncio.to_thread(self._save, key, wav)
        ann = Announcement(text, wav, pcm.seconds, cached=False)
        self._remember(key, ann)
        return ann

    def _compose(self, speech: audio.Pcm) -> tuple[audio.Pcm, bytes]:
        """Chime, pause, then the sentence ``repeat`` times with ``gap`` between."""
        o = self.options
        sequence: list[audio.Pcm] = []
        if o.chime:
            sequence += [_chime(speech.rate), audio.silence(0.3, speech.rate)]
        for i in range(o.repeat):
            if i:
                sequence.append(audio.silence(o.gap, speech.rate))
            sequence.append(speech)
        pcm = audio.join(sequence)
        return pcm, audio.write_wav(pcm)

    def _save(self, key: str, wav: bytes) -> None:
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.cache_dir, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(wav)
            os.replace(tmp, self.cache_dir / f"{key}.wav")  # atomic: readers never see half a file
        except OSError as exc:  # the memory cache still serves it
            log.warning("%s: cannot write cache file: %s", self.device_id, exc)
            return
        self._saves += 1
        if self._saves % 25 == 1:
            self._prune()

    def _prune(self) -> None:
        """Keep the newest ``cache_files`` WAVs in the cache folder."""
        try:
            files = sorted(self.cache_dir.glob("*.wav"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in files[self.options.cache_files :]:
                old.unlink(missing_ok=True)
        except OSError as exc:  # another process pruning at the same time
            log.info("%s: cache pruning: %s", self.device_id, exc)

    # --- playback -------------------------------------------------------------------------

    async def announce(self, text: str) -> Announcement:
        """Render ``text`` and queue it for playback (returns once queued)."""
        if self.health.state == DeviceState.FAULT and self.options.output == "aplay":
            raise DeviceFault(self.health.faults[0] if self.health.faults else NO_AUDIO_OUTPUT)
        ann = await self.render(text)
        self._queue.put_nowait(ann)
        return ann

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until everything queued has been played."""
        await asyncio.wait_for(self._queue.join(), timeout)

    async def _play_loop(self) -> None:
        while True:
            ann = await self._queue.get()
            try:
                if self.options.output == "aplay":
                    await self._aplay(ann)
                self.played.append(ann.text)
            except Exception:
                log.exception("%s: playback failed", self.device_id)
            finally:
                self._queue.task_done()

    async def _aplay(self, ann: Announcement) -> None:
        path = self.cache_dir / f"{self.key_for(ann.text)}.wav"
        if not path.is_file():
            await asyncio.to_thread(self._save, self.key_for(ann.text), ann.wav)
        args = ["aplay", "-q", *(["-D", self.options.audio_device] if self.options.audio_device else []), str(path)]
        self._player = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            _, err = await asyncio.wait_for(self._player.communicate(), ann.seconds + 10)
        except BaseException:  # timeout or cancellation: stop the sound, reap the process
            with contextlib.suppress(ProcessLookupError):
                self._player.kill()
            await self._player.wait()
            raise
        if self._player.returncode:
            self.tracker.set(DeviceState.FAULT, [NO_AUDIO_OUTPUT], err.decode(errors="replace").strip()[:200])
        elif self.health.state == DeviceState.FAULT:
            self.tracker.set(DeviceState.READY)
