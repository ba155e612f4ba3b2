"""The live configuration as the hall YAML (``hallq check-config`` reads it; importing it gives the same config)."""

from __future__ import annotations

import yaml

from server.config import HallConfig, parse_config

HEADER = "# hallq hall configuration, version {version} (exported; `hallq check-config` validates it)\n"


def to_yaml(config: HallConfig, version: int | None = None) -> str:
    """YAML text of ``config``; values equal to the schema's defaults are left out."""
    data = config.model_dump(mode="json", exclude_defaults=True)
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=False, width=120)
    return (HEADER.format(version=version) if version is not None else "") + body


def from_yaml(text: str, source: str = "upload") -> HallConfig:
    """Parse and validate YAML text exactly as ``hallq check-config`` does (``HallConfigError`` when invalid)."""
    return parse_config(text, source)
