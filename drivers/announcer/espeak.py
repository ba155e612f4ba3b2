"""Offline Mandarin announcements with espeak-ng (Debian package ``espeak-ng``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile

from drivers.announcer import audio
from drivers.announcer.engine import AnnouncerBase
from drivers.errors import DeviceFault
from drivers.health import DeviceState

ESPEAK_MISSING = "espeak_missing"
ESPEAK_FAILED = "espeak_failed"


async def espeak_wav(text: str, *, program: str = "espeak-ng", voice: str = "cmn", speed: int = 150,
                     pitch: int = 50, amplitude: int = 100, timeout: float = 10.0) -> bytes:  # fmt: skip
    """Run ``espeak-ng -v VOICE -w FILE TEXT`` in a subprocess; the WAV bytes."""
    if shutil.which(program) is None:
        raise DeviceFault(ESPEAK_MISSING, f"{program} is not installed (apt install espeak-ng)")
    fd, path = tempfile.mkstemp(suffix=".wav", prefix="hallq-espeak-")
    os.close(fd)
    try:
        proc = await asyncio.create_subprocess_exec(
            program, "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", str(amplitude), "-w", path, text,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            _, err = await asyncio.wait_for(proc.communicate(), timeout)
        except BaseException as exc:  # timeout or cancellation: never leave the process behind
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            if isinstance(exc, TimeoutError):
                raise DeviceFault(ESPEAK_FAILED, f"{program} timed out") from exc
            raise
        if proc.returncode:
            raise DeviceFault(ESPEAK_FAILED, err.decode(errors="replace").strip()[:200] or f"exit {proc.returncode}")
        with open(path, "rb") as f:
            return f.read()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


class EspeakAnnouncer(AnnouncerBase):
    """Renders each sentence with espeak-ng (voice ``cmn``), cached, chimed, repeated, queued."""

    name = "espeak"

    def check(self) -> list[str]:
        """espeak-ng must be installed."""
        faults = super().check()
        if shutil.which(self.options.espeak) is None:
            faults.append(ESPEAK_MISSING)
        return faults

    async def synthesize(self, text: str) -> audio.Pcm:
        """One sentence from espeak-ng."""
        o = self.options
        try:
            wav = await espeak_wav(text, program=o.espeak, voice=o.voice, speed=o.speed, pitch=o.pitch,
                                   amplitude=o.amplitude, timeout=o.timeout)  # fmt: skip
        except DeviceFault as exc:
            self.tracker.set(DeviceState.FAULT, [exc.fault], str(exc))
            raise
        return audio.read_wav(wav)
