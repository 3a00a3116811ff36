"""The model manifest: everything the pipeline needs to run a classifier it has never seen.

Stored beside ``model.onnx`` as ``manifest.json`` in the registry prefix
``models/<name>/<version>/``. A third-party ONNX classifier runs unchanged once its manifest
states its input layout, size, channels and normalisation, labels, thresholds and activation.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Layout(StrEnum):
    NCHW = "NCHW"
    NHWC = "NHWC"


class Activation(StrEnum):
    SIGMOID = "sigmoid"  # the model outputs logits, one independent probability per label
    SOFTMAX = "softmax"  # logits over mutually exclusive labels
    NONE = "none"  # the model already outputs probabilities


class MeanStd(_Strict):
    """``x = (p * scale - mean[c]) / std[c]`` with ``p`` the 0–255 grey value (float, unrounded)."""

    kind: Literal["mean_std"] = "mean_std"
    scale: float = Field(1 / 255, gt=0, description="Applied to the 0–255 pixel first.")
    mean: tuple[float, ...] = Field((0.0,), min_length=1, max_length=3, description="Per channel, or one for all.")
    std: tuple[float, ...] = Field((1.0,), min_length=1, max_length=3, description="Per channel, or one for all.")

    @model_validator(mode="after")
    def _positive_std(self) -> MeanStd:
        if any(s <= 0 for s in self.std):
            raise ValueError("std values must be positive")
        return self


class FixedRange(_Strict):
    """``x = low + (p / 255) * (high - low)``: black maps to ``low``, white to ``high`` (e.g. [-1024, 1024])."""

    kind: Literal["range"] = "range"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> FixedRange:
        if self.high <= self.low:
            raise ValueError("high must be greater than low")
        return self


Normalisation = Annotated[MeanStd | FixedRange, Field(discriminator="kind")]


class LabelSpec(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]{1,48}$")
    threshold: float = Field(ge=0, le=1, description="Score at or above which the finding is reported positive.")
    urgent_threshold: float | None = Field(None, ge=0, le=1,
                                           description="Score at or above which the study is triaged urgent.")
    description: str = Field("", max_length=200)


class RegisteredManifest(_Strict):
    """What every registered model states, whatever it does: identity, hash, preferred providers."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hash of model.onnx; checked before loading.")
    description: str = Field("", max_length=500)
    providers: tuple[str, ...] = Field(("CUDAExecutionProvider", "CPUExecutionProvider"),
                                       description="Execution providers in order of preference.")

    @property
    def ref(self) -> str:
        return f"{self.name}/{self.version}"


class ModelManifest(RegisteredManifest):
    clinical: bool = Field(description="True only for a validated, approved clinical model.")
    input_name: str = Field(min_length=1, max_length=128)
    layout: Layout = Layout.NCHW
    size: tuple[int, int] = Field(description="Input height, width in pixels.")
    channels: Literal[1, 3] = 1
    normalisation: Normalisation = Field(default_factory=MeanStd)
    output_name: str | None = Field(None, description="Output to read; the first one when omitted.")
    activation: Activation = Activation.SIGMOID
    labels: tuple[LabelSpec, ...] = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _check(self) -> ModelManifest:
        if not all(16 <= s <= 2048 for s in self.size):
            raise ValueError("size must be between 16 and 2048 pixels per side")
        if len({label.name for label in self.labels}) != len(self.labels):
            raise ValueError("label names must be unique")
        for field_name in ("mean", "std"):
            values = getattr(self.normalisation, field_name, (0.0,))
            if len(values) not in (1, self.channels):
                raise ValueError(f"normalisation.{field_name} needs 1 or {self.channels} values")
        return self

