"""Options of an FF 68 keypad bus: which address is which window's caller or evaluator, per-address models.

Two config forms are accepted for ``callers`` and ``evaluators``::

    evaluators: {101: 1, 102: 2}                       # old form: address -> window,
    evaluator_model: five_key                          #   one model for the whole bus
    evaluators:                                        # per address
      101: {window: 1, model: four_key}
      102: {window: 2, model: five_key, map: {0: 5, 1: 4, 2: 3, 3: 2, 4: 1}}
    callers:
      1: {window: 1, model: numeric, keys: {0x0C: call_next}}

After validation ``callers``/``evaluators`` are always ``address -> window`` (what the
server's wiring reads) and the per-address detail lives in ``caller_specs``/``evaluator_specs``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from drivers.keypad import codec
from drivers.transport import SerialOptions

KEY_NAMES = frozenset(("call_next", "recall", "rate", "pause", "transfer", "cancel", "no_show", "suspend", "callback"))


class EvaluatorSpec(BaseModel):
    """One evaluator keypad: its window, model and (optionally) its own value -> level map."""

    model_config = ConfigDict(extra="forbid")

    window: int
    model: str = "five_key"
    map: dict[int, int] | None = None  # value -> 好差评 level 1..5; replaces the model's map

    @field_validator("map")
    @classmethod
    def _levels(cls, value: dict[int, int] | None) -> dict[int, int] | None:
        if value is not None and any(not 1 <= level <= 5 for level in value.values()):
            raise ValueError("levels must be 1..5")
        return value


class CallerSpec(BaseModel):
    """One caller keypad: its window, model and (optionally) its own key codes."""

    model_config = ConfigDict(extra="forbid")

    window: int
    model: str = "standard"  # see codec.CALLER_MODELS
    keys: dict[int, str] | None = None  # last DATA byte -> key name, over the dialect's table
    ok_codes: dict[int, str] | None = None  # digit before OK -> key name, over the dialect's table

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        if value not in codec.CALLER_MODELS:
            raise ValueError(f"unknown caller model {value!r}; known: {', '.join(codec.CALLER_MODELS)}")
        return value

    @field_validator("keys", "ok_codes")
    @classmethod
    def _names(cls, value: dict[int, str] | None) -> dict[int, str] | None:
        unknown = sorted(set((value or {}).values()) - KEY_NAMES)
        if unknown:
            raise ValueError(f"unknown key names {unknown}; known: {', '.join(sorted(KEY_NAMES))}")
        return value


def _split(raw: Any, spec_cls: type[BaseModel]) -> tuple[dict[int, int], dict[int, Any]]:
    windows: dict[int, int] = {}
    specs: dict[int, Any] = {}
    for address, value in dict(raw or {}).items():
        if isinstance(value, dict | BaseModel):
            spec = spec_cls.model_validate(value)
            windows[int(address)] = int(spec.window)  # type: ignore[attr-defined]
            specs[int(address)] = spec
        else:
            windows[int(address)] = int(value)
    return windows, specs


class Ff68Options(SerialOptions):
    """Bus options (config ``devices[].options``)."""

    model_config = ConfigDict(extra="forbid")

    callers: dict[int, int] = Field(default_factory=dict)  # address -> window (normalised)
    evaluators: dict[int, int] = Field(default_factory=dict)  # address -> window (normalised)
    caller_specs: dict[int, CallerSpec] = Field(default_factory=dict)
    evaluator_specs: dict[int, EvaluatorSpec] = Field(default_factory=dict)
    evaluator_model: str = "five_key"  # the model of evaluators given in the old form
    caller_model: str = "standard"  # the model of callers given in the old form
    # model -> {evaluator value -> 好差评 level 1..5}; merged over the built-in defaults
    key_maps: dict[str, dict[int, int]] = Field(default_factory=dict)
    dialect: str = "ff68"
    # An identical frame again within this many seconds is a keypad re-sending a press whose
    # ACK it missed, not a new press (a double call_next would skip a citizen). 0 disables.
    dedup_seconds: float = Field(0.3, ge=0)
    trace: bool = False

    @model_validator(mode="before")
    @classmethod
    def _per_address(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, spec_cls in (("callers", CallerSpec), ("evaluators", EvaluatorSpec)):
            windows, specs = _split(data.get(name), spec_cls)
            data[name] = windows
            data[f"{name[:-1]}_specs"] = {**dict(data.get(f"{name[:-1]}_specs") or {}), **specs}
        return data

    @field_validator("key_maps")
    @classmethod
    def _levels(cls, value: dict[str, dict[int, int]]) -> dict[str, dict[int, int]]:
        for model, mapping in value.items():
            if any(not 1 <= level <= 5 for level in mapping.values()):
                raise ValueError(f"key map {model!r}: levels must be 1..5")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Ff68Options:
        if self.dialect not in codec.DIALECTS:
            raise ValueError(f"unknown keypad dialect {self.dialect!r}; known: {', '.join(codec.DIALECTS)}")
        if self.caller_model not in codec.CALLER_MODELS:
            raise ValueError(f"unknown caller model {self.caller_model!r}")
        models = {**codec.EVALUATOR_MAPS, **self.key_maps}
        for address, window in self.evaluators.items():
            spec = self.evaluator_specs.get(address)
            if spec is None:
                spec = self.evaluator_specs[address] = EvaluatorSpec(window=window, model=self.evaluator_model)
            if spec.map is None and spec.model not in models:
                raise ValueError(f"evaluator {address}: unknown model {spec.model!r}; known: {', '.join(models)}")
        if self.evaluator_model not in models:
            raise ValueError(f"unknown evaluator model {self.evaluator_model!r}; known: {', '.join(models)}")
        for address, window in self.callers.items():
            self.caller_specs.setdefault(address, CallerSpec(window=window, model=self.caller_model))
        return self

    def evaluator_map(self, address: int) -> dict[int, int]:
        """The value -> level map of the evaluator at ``address`` (the bus default when unknown)."""
        spec = self.evaluator_specs.get(address)
        if spec is not None and spec.map is not None:
            return dict(spec.map)
        models = {**codec.EVALUATOR_MAPS, **self.key_maps}
        return dict(models[spec.model if spec is not None else self.evaluator_model])

    def caller_spec(self, address: int) -> CallerSpec:
        """The caller spec at ``address`` (a default one for an unconfigured address)."""
        return self.caller_specs.get(address) or CallerSpec(window=0, model=self.caller_model)
