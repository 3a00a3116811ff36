"""The model manifest: everything the pipeline needs to run a classifier it has never seen.

Stored beside ``model.onnx`` as ``manifest.json`` in the registry prefix
``models/<name>/<version>/``. A third-party ONNX classifier runs unchanged once its manifest
states the preprocessing it was trained with (colour, resize filter, fit, size, layout,
normalisation), its labels, thresholds and activation. ``manifest_schema()`` is the published
JSON Schema (``make admin ARGS='models schema'``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

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


class Resize(StrEnum):
    """The resampling filter the model was trained with."""

    NEAREST = "nearest"  # the source pixel under each output centre (centres stepped from s/2 by s = in/out: Pillow's)
    BILINEAR = "bilinear"  # Pillow's bilinear (antialiased when shrinking)
    BICUBIC = "bicubic"  # Pillow's bicubic
    AREA = "area"  # the mean over the source area each output pixel covers (OpenCV INTER_AREA)
    LANCZOS = "lanczos"  # Pillow's Lanczos-3


class Fit(StrEnum):
    """How the image's aspect ratio meets the model's size."""

    STRETCH = "stretch"  # resize to the size, aspect ratio not kept
    CENTER_CROP = "center_crop"  # scale to cover the size, keep the centre
    LETTERBOX = "letterbox"  # scale to fit inside the size, centred on pad_value


class Colour(StrEnum):
    """Which planes the model reads."""

    GREY = "grey"  # one grey plane
    GREY3 = "grey3"  # the grey plane replicated to three channels
    RGB = "rgb"  # the colour planes kept (a grey source gives grey three times)


class ClassActivation(_Strict):
    """A class activation map (Zhou et al. 2016) for models ending in global pooling + one linear layer:
    the heat map of label ``c`` is ``sum_k weights[c, k] * features[k]``, free with the scoring run."""

    feature_output: str = Field(min_length=1, max_length=128,
                                description="Output holding the last feature maps, (N, K, h, w) or (N, h, w, K).")
    weights: str = Field(min_length=1, max_length=128,
                         description="Initializer of the final linear layer's weights, (labels, K) or (K, labels).")


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
    channels: Literal[1, 3] = Field(1, description="Channels of the input tensor (follows colour when omitted).")
    colour: Colour = Field(Colour.GREY, description="grey, grey3 (grey replicated to 3 channels) or rgb.")
    resize: Resize = Field(Resize.BILINEAR, description="Resampling filter, applied to the full-resolution image.")
    fit: Fit = Field(Fit.STRETCH, description="stretch, center_crop or letterbox.")
    pad_value: float = Field(0.0, ge=0, le=255, description="Letterbox padding as a 0–255 grey value (before "
                                                              "normalisation).")
    normalisation: Normalisation = Field(default_factory=MeanStd)
    class_activation: ClassActivation | None = Field(None, description="Heat maps by class activation map when "
                                                                        "given, else by occlusion.")
    output_name: str | None = Field(None, description="Output to read; the first one when omitted.")
    activation: Activation = Activation.SIGMOID
    labels: tuple[LabelSpec, ...] = Field(min_length=1, max_length=64)

    @model_validator(mode="before")
    @classmethod
    def _colour_and_channels(cls, data: Any) -> Any:
        """Either may be given: three channels without a colour mean grey3 (as before), grey3/rgb mean 3."""
        if isinstance(data, dict):
            if "colour" not in data and data.get("channels") == 3:
                data = {**data, "colour": Colour.GREY3.value}
            elif "channels" not in data and data.get("colour") in (Colour.GREY3.value, Colour.RGB.value):
                data = {**data, "channels": 3}
        return data

    @model_validator(mode="after")
    def _check(self) -> ModelManifest:
        if (self.colour is Colour.GREY) != (self.channels == 1):
            raise ValueError(f"colour {self.colour.value} needs {1 if self.colour is Colour.GREY else 3} channels")
        if not all(16 <= s <= 2048 for s in self.size):
            raise ValueError("size must be between 16 and 2048 pixels per side")
        if len({label.name for label in self.labels}) != len(self.labels):
            raise ValueError("label names must be unique")
        for field_name in ("mean", "std"):
            values = getattr(self.normalisation, field_name, (0.0,))
            if len(values) not in (1, self.channels):
                raise ValueError(f"normalisation.{field_name} needs 1 or {self.channels} values")
        return self


def manifest_schema() -> dict[str, Any]:
    """The JSON Schema a third party writes its manifest against."""
    schema = ModelManifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
