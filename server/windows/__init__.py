"""Window devices wired to the queue, one typed unit per device family.

- ``led.py``        LedWiring: window strips (条屏) and hall/zone strips (``drivers.contract.LedDisplay``)
- ``keypads.py``    KeypadWiring: caller keypads (呼叫器) → queue operations, evaluators (评价器) → ratings,
                    and the keypads' own displays (``drivers.contract.KeypadBus``)
- ``announcer.py``  AnnouncerWiring: spoken calls (``drivers.contract.Announcer``) → ``announcement.ready``
- ``common.py``     what they share (ticket digits, availability, bounded outputs, task set)

Each is a ``server.devices.manager.Wiring``: it receives typed ``server.queue.events.Event``s and
reaches the queue only through ``server.devices.port.QueuePort``, so it runs unchanged in the
server process and in a ``hallq devices`` host. Shared state (the rating deadline, the call-back
list, the recent calls) lives in the store and is read through the port, never kept here.
"""

from __future__ import annotations

from server.devices.port import QueuePort
from server.windows.announcer import AnnouncerWiring
from server.windows.keypads import KeypadOptions, KeypadWiring
from server.windows.led import LedWiring


def window_wirings(queue: QueuePort) -> list[LedWiring | KeypadWiring | AnnouncerWiring]:
    """The three window wirings over one queue port (add each to the DeviceManager)."""
    return [LedWiring(queue), KeypadWiring(queue), AnnouncerWiring(queue)]


__all__ = ["AnnouncerWiring", "KeypadOptions", "KeypadWiring", "LedWiring", "window_wirings"]
