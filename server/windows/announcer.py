"""The announcer wired to the queue: every call and recall is spoken (语音叫号).

Devices: every ``announcer``; the first available one speaks (announcements never overlap in
the driver). After speaking, ``announcement.ready`` goes out on topic ``hall`` with the
caption, the spoken text and the WAV's URL (``/api/announcements/<key>.wav``), so hall
screens can play it too.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Protocol

from displays import speech
from drivers.contract import Announcer
from server.devices.port import QueuePort
from server.queue.events import Event, EventType
from server.queue.views import TicketView
from server.windows.common import CALL_EVENTS, DeviceSource, available, bounded, port_of

log = logging.getLogger("hallq.devices.window")


class VoiceOptions(Protocol):
    """The announcer options that word the sentence (``drivers.announcer.engine.AnnouncerOptions``)."""

    templates: dict[str, str]
    letters: dict[str, str]
    digits: str | None


class Speaker(Announcer, Protocol):
    """An announcer whose WAVs are kept under a key (``drivers.announcer.engine``)."""

    @property
    def options(self) -> VoiceOptions: ...

    def key_for(self, text: str) -> str: ...


class AnnouncerWiring:
    """Speaks calls and tells the hall screens where the recording is."""

    def __init__(self, queue: QueuePort | None = None, *, enabled: bool = True) -> None:
        self.queue = queue
        self.enabled = enabled
        self.announcers: list[Speaker] = []
        self.announcements: deque[dict[str, Any]] = deque(maxlen=50)  # the last ones, newest first

    async def start(self, manager: DeviceSource) -> None:
        """Find the announcers."""
        self.queue = port_of(self.queue, manager)
        self.announcers = [device for _cfg, device in manager.devices_of_kind("announcer")]

    async def stop(self) -> None:
        """Nothing runs in the background."""

    async def on_event(self, event: Event) -> None:
        """Announce calls and recalls."""
        number = event.window_number
        if event.type not in CALL_EVENTS or event.ticket is None or number is None or not self.enabled:
            return
        kind = "recall" if event.type == EventType.TICKET_RECALLED else "call"
        await bounded(self.announce(event.ticket, number, kind))

    async def announce(self, ticket: TicketView, window: int, kind: str = "call") -> dict[str, Any] | None:
        """Speak one call on the first available announcer and publish ``announcement.ready``."""
        announcer = next((a for a in self.announcers if available(a)), None)
        if announcer is None:  # none configured, or all down (their health logged that once)
            log.debug("no announcer available for %s", ticket.number)
            return None
        opts = announcer.options
        voice = speech.voice_from_options({"templates": opts.templates, "letters": opts.letters,
                                           "digits": opts.digits})
        spoken = speech.sentence(ticket.number, window, kind=kind, voice=voice)
        ann = await announcer.announce(spoken)
        key = announcer.key_for(spoken)
        data: dict[str, Any] = {
            "text": speech.caption(ticket.number, window, kind=kind, voice=voice),
            "spoken": spoken,
            "url": f"/api/announcements/{key}.wav",
            "seconds": round(ann.seconds, 2),
            "cached": ann.cached,
            "ticket": ticket.number,
            "ticket_id": ticket.id,
            "window": window,
        }
        self.announcements.appendleft(data)
        if self.queue is not None:
            await self.queue.publish(EventType.ANNOUNCEMENT_READY, ("hall",), data)
        return data
