"""Settings of the 好差评 upload (environment ``HALLQ_HAOCHAPING_*``)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ExportSettings(BaseSettings):
    """Where and how ratings are uploaded; without ``url`` ratings are still queued, never sent."""

    model_config = SettingsConfigDict(env_prefix="HALLQ_HAOCHAPING_", extra="ignore")

    url: str | None = Field(default=None, description="endpoint of the provincial system (or its 前置机)")
    secret: SecretStr = Field(default=SecretStr(""), description="HMAC-SHA256 key shared with the receiver")
    adapter: str = Field(default="generic", description="entry point name in group hallq.haochaping")
    agency_code: str = Field(default="", description="实施机构 code (统一社会信用代码 or the province's code)")
    agency_name: str = Field(default="", description="实施机构 name; default: the hall's name")
    since: dt.date | None = Field(default=None, description="queue only ratings of this business day and later "
                                  "(the history before the upload was set up stays local)")
    timeout_s: float = Field(default=10.0, gt=0)
    poll_s: float = Field(default=5.0, gt=0, description="how often the sender looks for due records")
    backoff_base_s: float = Field(default=5.0, gt=0)
    backoff_max_s: float = Field(default=3600.0, gt=0)
    lease_s: float = Field(default=120.0, gt=0, description="a claimed record is re-sent after this (sender died)")
    batch: int = Field(default=50, ge=1, le=1000)
    sender: bool = Field(default=True, description="run the sender loop in this process")
