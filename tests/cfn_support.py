"""Reading a synthesised cloud assembly as CloudFormation and a browser would, for the infra tests.

``Assembly.evaluate`` renders a value as CloudFormation would at deploy time (Ref, Fn::GetAtt, Fn::Join,
Fn::Select, Fn::Split, Fn::ImportValue across the app's stacks, the pseudo parameters), with placeholders for what
only AWS knows: ``<Logical.Attr>`` for an attribute, ``<Logical>`` for a physical id. ``preflight_allows`` is the
CORS check of the Fetch standard (https://fetch.spec.whatwg.org/#cors-preflight-fetch), written from the spec.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
PSEUDO = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com",
          "AWS::Partition": "aws"}
# Ref of these types returns a property (CloudFormation's documented return values), not an opaque id
REF_IS_PROPERTY = {"AWS::ApiGateway::Stage": "StageName", "AWS::Cognito::UserPoolDomain": "Domain"}
# Fn::GetAtt Arn of these types, from the physical id (Ref)
ARN_FROM_REF = {"AWS::S3::Bucket": "arn:aws:s3:::{ref}"}


@dataclass
class Assembly:
    """The app's templates by stack name, and the stack objects that wrote them."""

    outdir: Path
    golden: Any
    templates: dict[str, dict[str, Any]]

    def template(self, stack_attr: str) -> dict[str, Any]:
        return self.templates[getattr(self.golden, stack_attr).stack_name]

    def resources(self, stack_attr: str, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template(stack_attr)["Resources"].items() if r["Type"] == resource_type}

    def evaluate(self, stack_attr: str, value: Any) -> Any:
        return self._evaluate(self.template(stack_attr), value)

    def _evaluate(self, template: Mapping[str, Any], value: Any) -> Any:
        if isinstance(value, list):
            return [self._evaluate(template, item) for item in value]
        if not isinstance(value, dict) or len(value) != 1:
            return value
        (function, argument), = value.items()
        if function == "Ref":
            if argument in PSEUDO:
                return PSEUDO[argument]
            resource = template["Resources"][argument]
            prop = REF_IS_PROPERTY.get(resource["Type"])
            return self._evaluate(template, resource["Properties"][prop]) if prop else f"<{argument}>"
        if function == "Fn::GetAtt":
            logical, attribute = argument
            arn = ARN_FROM_REF.get(template["Resources"][logical]["Type"]) if attribute == "Arn" else None
            return arn.format(ref=self._evaluate(template, {"Ref": logical})) if arn else f"<{logical}.{attribute}>"
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(self._evaluate(template, part)) for part in parts)
        if function == "Fn::Select":
            index, items = argument
            return self._evaluate(template, items)[int(index)]
        if function == "Fn::Split":
            separator, text = argument
            return str(self._evaluate(template, text)).split(separator)
        if function == "Fn::ImportValue":
            return self._exported(str(self._evaluate(template, argument)))
        return {function: self._evaluate(template, argument)}

    def _exported(self, name: str) -> Any:
        for template in self.templates.values():
            for output in template.get("Outputs", {}).values():
                if output.get("Export", {}).get("Name") == name:
                    return self._evaluate(template, output["Value"])
        raise AssertionError(f"no stack exports {name}")


def deployment_choices(stage: str) -> dict[str, str]:
    """The optional choices the shared synthesis makes, so their grants are checked too: agencies that require
    mutual TLS (the operator imported the platform's client certificate)."""
    return {"agency_client_certificate_secret": f"gt/{stage}/agency-client-certificate"}


def shared_assembly(tmp_path_factory: pytest.TempPathFactory, stage: str) -> Assembly:
    """The whole app, synthesised once per run into one directory every infra test reads (under pytest-xdist the
    first worker to take the lock synthesises it; the others build the construct tree only)."""
    from infra.app import build_app

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    outdir = root / "infra-cdk.out"
    with (root / "infra-cdk.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        app, golden = build_app(str(outdir), {"stage": stage, **deployment_choices(stage)})
        if not (outdir / "manifest.json").is_file():
            app.synth()
    templates = {stack.stack_name: json.loads((outdir / stack.template_file).read_text()) for stack in golden.stacks}
    return Assembly(outdir=outdir, golden=golden, templates=templates)


# --- CORS, as the Fetch standard has the browser check a preflight's answer --------------------------------------

SAFELISTED_METHODS = {"GET", "HEAD", "POST"}


def _names(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def preflight_allows(answer: Mapping[str, str], *, origin: str, method: str, headers: Iterable[str]) -> bool:
    """Whether a browser at ``origin`` sends ``method`` with ``headers`` (the request's header names that are not
    CORS-safelisted, e.g. Content-Type: application/json) after this preflight answer, without credentials.

    The answer's status must be ok (2xx, checked by the caller); Access-Control-Allow-Origin must be ``*`` or the
    origin; the method must be safelisted or listed (``*`` allowed without credentials); every header that is not
    CORS-safelisted must be listed, Authorization by name (``*`` never covers it).
    """
    allowed_origin = answer.get("Access-Control-Allow-Origin")
    if allowed_origin not in ("*", origin):
        return False
    methods = {m.upper() for m in _names(answer.get("Access-Control-Allow-Methods"))}
    if method.upper() not in SAFELISTED_METHODS | methods and "*" not in methods:
        return False
    allowed = _names(answer.get("Access-Control-Allow-Headers"))
    for header in (h.lower() for h in headers):
        if header == "authorization":
            if header not in allowed:
                return False
        elif header not in allowed and "*" not in allowed:
            return False
    return True


def response_readable(answer: Mapping[str, str], *, origin: str) -> bool:
    """Whether the page at ``origin`` may read a (non-credentialed) response: its Access-Control-Allow-Origin."""
    return answer.get("Access-Control-Allow-Origin") in ("*", origin)
