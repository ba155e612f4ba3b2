"""Serving rendered announcements to the hall display page: ``GET /api/announcements/{key}.wav``.

The key comes from the ``announcement.ready`` event (topic ``hall``), whose ``url`` field
is this route. The WAV is looked up in every announcer this process's device host
(``Services.devices``) runs, memory cache first, then its cache folder. A web worker of
``hallq serve --workers N`` runs no announcer: it reads the cache folders the configured
announcers write (the device-host child shares the machine and the working directory).
"""

from __future__ import annotations

import asyncio
from pathlib import Path as FilePath
from typing import Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from server.auth import public
from server.config import HallConfig
from server.deps import ConfigDep, DevicesDep
from server.errors import NotFound
from server.http.problems import responses

router = APIRouter(prefix="/api", tags=["announcements"],
                   dependencies=[Depends(public("the spoken call the whole hall hears"))])

Key = Path(pattern=r"^[0-9a-f]{20}$", description="Announcement key from the announcement.ready event")


def _announcers(host: Any | None) -> list[Any]:
    """The announcers of this process's device host (none when devices run in another process)."""
    if host is None:
        return []
    return [device for _cfg, device in host.manager.devices_of_kind("announcer")]


def _cached_file(config: HallConfig, key: str) -> bytes | None:
    """The WAV of ``key`` from a configured announcer's cache folder (written by the device host)."""
    for device in config.devices:
        if device.kind != "announcer":
            continue
        folder = FilePath(str((device.options or {}).get("cache_dir", "var/announcements")))
        path = folder / f"{key}.wav"  # key is 20 hex digits (route pattern): no path tricks
        if path.is_file():
            return path.read_bytes()
    return None


@router.get(
    "/announcements/{key}.wav",
    summary="A rendered voice announcement (语音叫号音频)",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}}, **responses(404, 422)},
)
async def announcement_wav(devices: DevicesDep, config: ConfigDep, key: str = Key) -> Response:
    """The WAV of one announcement (chime and repeats included); cached, so cheap to fetch again."""
    wav: bytes | None = None
    for announcer in _announcers(devices):
        wav_for = getattr(announcer, "wav_for", None)
        wav = await asyncio.to_thread(wav_for, key) if wav_for is not None else None
        if wav:
            break
    if not wav and devices is None:
        wav = await asyncio.to_thread(_cached_file, config, key)
    if wav:
        # Keys hash the text and voice settings, so the content never changes for a key.
        return Response(wav, media_type="audio/wav", headers={"Cache-Control": "public, max-age=86400, immutable"})
    raise NotFound("没有这条语音", f"No announcement {key}", code="unknown_announcement", key=key)
