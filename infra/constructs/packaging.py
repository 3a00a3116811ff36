"""How a function's code ships, per stack: a zip bundle with layers from ``layers/``, or a container image.

Assets are per stack (CDK cannot share one across stacks) and layers are never exported between stacks, so a
new layer version never pins another stack's export.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_

from infra.bundle import layer_directory
from infra.names import infra_name, pascal
from infra.profiles import FunctionProfile

RUNTIME = lambda_.Runtime.PYTHON_3_12


@dataclass(frozen=True)
class FunctionCode:
    code: lambda_.Code
    handler: str
    runtime: lambda_.Runtime
    layers: list[lambda_.ILayerVersion]


class Packaging:
    def __init__(self, stack: Stack, *, stage: str, out: Path, bundle: Path, image_context: Path,
                 require_layers: bool) -> None:
        self._stack = stack
        self._stage = stage
        self._out = out
        self._image_context = image_context
        self._required = require_layers
        self._bundle = lambda_.Code.from_asset(str(bundle))
        self._layers: dict[str, lambda_.LayerVersion] = {}

    def code_for(self, profile: FunctionProfile, handler: str) -> FunctionCode:
        if profile.image:
            # The image's CMD names the handler; the python3.12 runtime is the base image's.
            return FunctionCode(code=lambda_.Code.from_asset_image(str(self._image_context), cmd=[handler]),
                                handler=lambda_.Handler.FROM_IMAGE, runtime=lambda_.Runtime.FROM_IMAGE, layers=[])
        return FunctionCode(code=self._bundle, handler=handler, runtime=RUNTIME,
                            layers=[self._layer(name) for name in profile.layers])

    def _layer(self, name: str) -> lambda_.LayerVersion:
        if name not in self._layers:
            self._layers[name] = lambda_.LayerVersion(
                self._stack, pascal(name) + "Layer", layer_version_name=infra_name(self._stage, name),
                code=lambda_.Code.from_asset(str(layer_directory(name, self._out, required=self._required))),
                compatible_runtimes=[RUNTIME], compatible_architectures=[lambda_.Architecture.X86_64],
                description=f"layers/{name} (python3.12, manylinux x86_64)",
                removal_policy=RemovalPolicy.RETAIN,
            )
        return self._layers[name]
