"""Kiosk code scanners on the device host: each scan becomes a ``code.scanned`` event for the kiosk page."""
