"""Helpers shared by the whole suite: polling, the production app on a SQLite file, demo credentials.

::

    from tests.support import until, make_app, DEMO_DEVICE_HOST, demo_bearer
"""

from tests.support.apps import make_app, seeding_store_factory, settings_for
from tests.support.credentials import (
    DEMO_DEVICE_HOST,
    DEMO_DISPLAY_HALL,
    DEMO_KIOSK_K1,
    account_session,
    account_token,
    demo_bearer,
    memory_auth,
)
from tests.support.polling import until, until_sync

__all__ = [
    "DEMO_DEVICE_HOST",
    "DEMO_DISPLAY_HALL",
    "DEMO_KIOSK_K1",
    "account_session",
    "account_token",
    "demo_bearer",
    "make_app",
    "memory_auth",
    "seeding_store_factory",
    "settings_for",
    "until",
    "until_sync",
]
