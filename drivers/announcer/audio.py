"""WAV helpers for announcements: read/write, a generated chime, silence, joining, loudness.

Everything is 16-bit mono PCM at one sample rate (espeak-ng's 22 050 Hz by default);
clips in other formats are converted on load.
"""

from __future__ import annotations

import io
import math
import wave
from dataclasses import dataclass

import numpy as np

RATE = 22050


@dataclass(frozen=True)
class Pcm:
    """16-bit mono samples and their rate."""

    samples: np.ndarray  # int16
    rate: int = RATE

    @property
    def seconds(self) -> float:
        """Duration."""
        return len(self.samples) / self.rate


def read_wav(data: bytes, rate: int = RATE) -> Pcm:
    """Decode WAV bytes into 16-bit mono at ``rate`` (mixing down and resampling when needed)."""
    with wave.open(io.BytesIO(data), "rb") as w:
        channels, width, src_rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        raw = w.readframes(n)
    if width == 2:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    elif width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128) * 256
    elif width == 4:
        samples = np.frombuffer(raw, dtype="<i4").astype(np.float64) / 65536
    else:
        raise ValueError(f"unsupported sample width {width}")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if src_rate != rate and len(samples):
        n_out = max(1, round(len(samples) * rate / src_rate))
        samples = np.interp(np.linspace(0, len(samples) - 1, n_out), np.arange(len(samples)), samples)
    return Pcm(np.clip(samples, -32768, 32767).astype(np.int16), rate)


def write_wav(pcm: Pcm) -> bytes:
    """Encode 16-bit mono WAV bytes."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(pcm.rate)
        w.writeframes(pcm.samples.astype("<i2").tobytes())
    return buf.getvalue()


def silence(seconds: float, rate: int = RATE) -> Pcm:
    """Quiet."""
    return Pcm(np.zeros(max(0, round(seconds * rate)), dtype=np.int16), rate)


def chime(rate: int = RATE, tones: tuple[float, ...] = (784.0, 659.3, 523.3), tone_seconds: float = 0.35) -> Pcm:
    """A soft descending "ding-dong" built from decaying sine tones (no bundled audio needed)."""
    t = np.arange(round(tone_seconds * rate)) / rate
    envelope = np.exp(-4.0 * t / tone_seconds) * np.minimum(1.0, t / 0.005)  # 5 ms attack, no click
    parts = [np.sin(2 * math.pi * f * t) * envelope for f in tones]
    samples = np.concatenate(parts) * 0.5 * 32767
    return Pcm(samples.astype(np.int16), rate)


def join(parts: list[Pcm], gap_seconds: float = 0.0) -> Pcm:
    """Concatenate with ``gap_seconds`` of silence between parts."""
    if not parts:
        return silence(0)
    rate = parts[0].rate
    gap = silence(gap_seconds, rate).samples
    chunks: list[np.ndarray] = []
    for i, part in enumerate(parts):
        if i and len(gap):
            chunks.append(gap)
        chunks.append(part.samples)
    return Pcm(np.concatenate(chunks).astype(np.int16), rate)


def trim(pcm: Pcm, threshold: int = 300, pad_seconds: float = 0.02) -> Pcm:
    """Cut leading and trailing near-silence (clips recorded with long pauses)."""
    loud = np.flatnonzero(np.abs(pcm.samples.astype(np.int32)) > threshold)
    if not len(loud):
        return pcm
    pad = round(pad_seconds * pcm.rate)
    return Pcm(pcm.samples[max(0, loud[0] - pad) : loud[-1] + pad + 1], pcm.rate)


def rms(pcm: Pcm) -> float:
    """Root mean square level (0 = silent, 32767 = full scale)."""
    if not len(pcm.samples):
        return 0.0
    return float(np.sqrt(np.mean(pcm.samples.astype(np.float64) ** 2)))
