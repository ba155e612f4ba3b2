"""Starting the simulator of a demo device (``url: sim`` or ``sim:pty``)."""

from __future__ import annotations

import logging
from typing import Any

from drivers import registry
from server.devices.validation import DeviceSpec, is_sim_url

__all__ = ["is_sim_url", "simulator_options", "start_simulator"]

log = logging.getLogger("hallq.devices")


def simulator_options(spec: DeviceSpec) -> Any:
    """The driver's parsed options (simulators take the driver's model), else the raw dict."""
    raw = dict(spec.config.options)
    try:
        model = getattr(registry.driver_class(spec.driver, spec.kind), "Options", None)
        if model is not None:
            return model.model_validate(raw)
    except Exception:  # validation already reported problems; fall back to the dict
        pass
    return raw


async def start_simulator(spec: DeviceSpec, host: str = "127.0.0.1") -> tuple[Any, str]:
    """Start the device's simulator; returns it and the URL the driver must open."""
    cls = registry.simulator_class(spec.driver)
    sim = cls(spec.id, simulator_options(spec))
    url = await sim.start_pty() if spec.url == "sim:pty" else await sim.start(host, 0)
    log.info("device %s: simulator at %s", spec.id, url)
    return sim, url
