"""``LiveConfig``: the hall configuration of this process now, and who to tell when it changes."""

from __future__ import annotations

import logging
from collections.abc import Callable

from server.config import HallConfig

log = logging.getLogger(__name__)

Listener = Callable[[HallConfig, HallConfig], None]


class LiveConfig:
    """The current ``HallConfig`` and its stored version; ``subscribe(fn)`` hears every change as ``fn(old, new)``."""

    def __init__(self, config: HallConfig, version: int = 0) -> None:
        self._current = config
        self._version = version
        self._listeners: list[Listener] = []

    @property
    def current(self) -> HallConfig:
        """The configuration now."""
        return self._current

    @property
    def version(self) -> int:
        """Its stored version (1 = the YAML at first start; 0 = not stored)."""
        return self._version

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(old, new)`` after each change applied in this process; returns the unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def apply(self, config: HallConfig, version: int) -> bool:
        """Make ``config`` (stored as ``version``) current and tell the listeners; False when not newer."""
        if version <= self._version:
            return False
        old, self._current, self._version = self._current, config, version
        for listener in list(self._listeners):
            try:
                listener(old, config)
            except Exception:  # one broken listener must not keep the others on the old config
                log.exception("config listener %r failed", listener)
        return True
