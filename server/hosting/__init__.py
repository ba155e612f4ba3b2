"""Hosting the devices: the composition that sits above the feature packages.

- ``embedded.py`` — the device host inside ``hallq serve`` (the app's lifespan calls it), and
  ``wirings_for``: the wirings every device host runs (windows, kiosk reader and printer, cameras);
- ``process.py``  — the device host as its own process: ``hallq devices`` and the child that
  ``hallq serve --workers N`` starts.

It imports the features (``server/windows``, ``server/kiosk``, ``server/cameras``) and the
device layer (``server/devices``); nothing below imports it.
"""
