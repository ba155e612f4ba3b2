"""Cameras: OpenCV capture, a synthetic hall simulator, seat/crowd analytics and alert logic."""
