"""``hallq check-config`` warnings about 好差评: evaluators that cannot give all five levels.

The national scheme is five-level (五级: 非常满意, 满意, 基本满意, 不满意, 非常不满意,
国办发〔2019〕51号); a three- or four-key evaluator (e.g. the ``four_key`` map of
drivers/keypad/codec.py, 2 … 5) can never record 非常不满意, so it is flagged — a warning,
not an error: the hall may still run it while it replaces the keypad.
"""

from __future__ import annotations

from pydantic import ValidationError

from drivers.keypad import codec
from drivers.keypad.options import Ff68Options
from server.config import HallConfig

FIVE_LEVELS = frozenset(range(1, 6))


def evaluator_warnings(config: HallConfig) -> list[str]:
    """One line per evaluator (bus device, address) whose key map misses a 好差评 level."""
    out: list[str] = []
    for device in config.devices:
        if device.kind != "keypad_bus" or not device.enabled:
            continue
        try:
            options = Ff68Options.model_validate(device.options)
        except ValidationError:
            continue  # reported as an error by the device validation
        maps = {**codec.EVALUATOR_MAPS, **options.key_maps}
        for address, window in sorted(options.evaluators.items()):
            spec = options.evaluator_specs.get(address)
            model = spec.model if spec else options.evaluator_model
            mapping = (spec.map if spec and spec.map else None) or maps.get(model, {})
            missing = sorted(FIVE_LEVELS - set(mapping.values()))
            if missing:
                names = "、".join(codec.LEVEL_NAMES[m] for m in missing)
                out.append(f"warning: {device.id} evaluator {address} (window {window}, model {model}) is not "
                           f"五级-compliant: it cannot record {names}")
            if config.ratings.require_reasons:
                # no evaluator model has reason keys (server/ratings/reasons.py NO_REASON_CHANNELS)
                out.append(f"warning: {device.id} evaluator {address} (window {window}) has no reason keys: "
                           "ratings.require_reasons does not apply to it; its 差评 is stored without reasons")
    return out
