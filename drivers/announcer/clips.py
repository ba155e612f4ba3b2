"""Announcements joined from recorded clips, one WAV per word (``请.wav``, ``窗口.wav``, ``A.wav`` …).

Halls that want a human voice record one clip per word into ``options.folder``: the
ten digits 零…九, 十 百 千, the letters A–Z, and the words of their templates (请 号 到
窗口 办理 by default). A sentence is split by longest match against the clip names;
punctuation becomes a short pause. Missing clips are generated with espeak-ng on
demand when ``generate`` is on (the default), so an empty folder still works; to fill
a folder ahead of time run::

    python -m drivers.announcer.clips var/clips

and replace any file with a recording of the same name (any WAV format; converted on load).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import string
from pathlib import Path

from pydantic import Field

from drivers.announcer import audio
from drivers.announcer.engine import AnnouncerBase, AnnouncerOptions
from drivers.announcer.espeak import ESPEAK_MISSING, espeak_wav
from drivers.errors import DeviceFault
from drivers.health import DeviceState

MISSING_CLIP = "missing_clip"
NO_CLIPS = "no_clips"
PAUSES = set("，,。.；;：:！!？? 、")

DEFAULT_WORDS: tuple[str, ...] = (
    *"零一二三四五六七八九十百千",
    *string.ascii_uppercase,
    "请", "号", "到", "窗口", "办理", "再次", "呼叫",
)  # fmt: skip


class ClipOptions(AnnouncerOptions):
    """Clip engine options."""

    folder: str = "var/clips"
    generate: bool = True  # make missing clips with espeak-ng
    clip_gap: float = Field(0.02, ge=0, le=1)
    pause: float = Field(0.25, ge=0, le=2)


class ClipAnnouncer(AnnouncerBase):
    """Joins per-word clips into a sentence; cached, chimed, repeated and queued like espeak."""

    name = "clips"
    Options = ClipOptions
    options: ClipOptions

    @property
    def folder(self) -> Path:
        """Where the clips are."""
        return Path(self.options.folder)

    def engine_signature(self) -> str:
        """Clips on disk are the voice; the folder name is part of the key."""
        return f"{super().engine_signature()}|{self.folder.resolve()}"

    def vocabulary(self) -> set[str]:
        """Every word with a clip, plus the default words (generated when missing)."""
        words = set(DEFAULT_WORDS)
        if self.folder.is_dir():
            words.update(p.stem for p in self.folder.glob("*.wav"))
        return words

    def check(self) -> list[str]:
        """Clips or espeak-ng (to make them) must exist."""
        faults = super().check()
        has_clips = self.folder.is_dir() and any(self.folder.glob("*.wav"))
        if not has_clips and not (self.options.generate and shutil.which(self.options.espeak)):
            faults.append(NO_CLIPS)
        return faults

    def tokenize(self, text: str) -> list[str]:
        """Split into clip words by longest match; pauses as "," and unknown characters alone."""
        vocab = self.vocabulary()
        longest = max(len(w) for w in vocab)
        tokens: list[str] = []
        i = 0
        while i < len(text):
            ch = text[i]
            if ch in PAUSES:
                if tokens and tokens[-1] != ",":
                    tokens.append(",")
                i += 1
                continue
            for n in range(min(longest, len(text) - i), 0, -1):
                piece = text[i : i + n]
                if piece in vocab or piece.upper() in vocab:
                    tokens.append(piece if piece in vocab else piece.upper())
                    i += n
                    break
            else:  # an unknown character is its own clip (generated when allowed)
                tokens.append(ch)
                i += 1
        return tokens

    async def clip(self, word: str) -> audio.Pcm:
        """The clip of one word, generating it with espeak-ng if missing and allowed."""
        path = self.folder / f"{word}.wav"
        if not path.is_file():
            if not self.options.generate:
                raise DeviceFault(MISSING_CLIP, f"no clip for {word!r} in {self.folder}")
            await make_clip(word, self.folder, self.options)
        return audio.trim(audio.read_wav(await asyncio.to_thread(path.read_bytes)))

    async def synthesize(self, text: str) -> audio.Pcm:
        """Join the clips of ``text``."""
        parts: list[audio.Pcm] = []
        try:
            for token in self.tokenize(text):
                if token == ",":
                    parts.append(audio.silence(self.options.pause))
                else:
                    parts.append(await self.clip(token))
        except DeviceFault as exc:
            self.tracker.set(DeviceState.FAULT, [exc.fault], str(exc))
            raise
        return audio.join(parts, self.options.clip_gap)


async def make_clip(word: str, folder: Path, options: AnnouncerOptions | None = None) -> Path:
    """Render ``word`` with espeak-ng into ``folder/word.wav``."""
    o = options or AnnouncerOptions.model_validate({})
    if shutil.which(o.espeak) is None:
        raise DeviceFault(ESPEAK_MISSING, f"{o.espeak} is not installed; cannot make clip {word!r}")
    wav = await espeak_wav(word, program=o.espeak, voice=o.voice, speed=o.speed, pitch=o.pitch, amplitude=o.amplitude)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{word}.wav"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(wav)
    tmp.replace(path)
    return path


async def generate(folder: Path, words: tuple[str, ...] = DEFAULT_WORDS) -> list[Path]:
    """Fill ``folder`` with espeak-ng clips for ``words`` (existing files are kept)."""
    made = []
    for word in words:
        if not (folder / f"{word}.wav").is_file():
            made.append(await make_clip(word, folder))
    return made


def main(argv: list[str] | None = None) -> None:
    """CLI: python -m drivers.announcer.clips FOLDER [WORD…]."""
    parser = argparse.ArgumentParser(description="Generate announcement clips with espeak-ng")
    parser.add_argument("folder", type=Path)
    parser.add_argument("words", nargs="*", help="words to make (default: digits, letters, 请 号 到 窗口 办理 …)")
    args = parser.parse_args(argv)
    made = asyncio.run(generate(args.folder, tuple(args.words) or DEFAULT_WORDS))
    print(f"{len(made)} clips written to {args.folder}")


if __name__ == "__main__":
    main()
