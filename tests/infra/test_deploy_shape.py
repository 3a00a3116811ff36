"""What would be deployed, checked offline from the cloud assembly alone (templates, asset manifests, asset
directories): every function's handler imports from its own asset, every event source and schedule is wired to
the handler the catalog names, with the catalog's batch size and partial batch failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfn_support import shared_assembly

from chalicelib.catalog import build_catalog
from chalicelib.settings import Settings

STAGE = "test"
CATALOG = build_catalog(STAGE)
# Import the handlers with the asset as the only code on the path (-I: no cwd, no PYTHONPATH), so a module the
# bundle forgot fails here rather than at the first invocation.
_PROBE = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
missing = []
for dotted in json.loads(sys.argv[2]):
    module, _, attr = dotted.rpartition(".")
    try:
        loaded = importlib.import_module(module)
        assert loaded.__file__.startswith(sys.argv[1]), f"{module} imported from outside the asset"
        assert callable(getattr(loaded, attr)), f"{dotted} is not callable"
    except Exception as exc:
        missing.append(f"{dotted}: {exc!r}")
print(json.dumps(missing))
"""


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cloud assembly the infra tests share (synthesised here if absent)."""
    return shared_assembly(tmp_path_factory, STAGE).outdir


def _stacks(outdir: Path) -> dict[str, dict[str, Any]]:
    manifest = json.loads((outdir / "manifest.json").read_text())
    return {name: json.loads((outdir / a["properties"]["templateFile"]).read_text())
            for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}


def _functions(outdir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    return {(stack, logical): r for stack, t in _stacks(outdir).items() for logical, r in t["Resources"].items()
            if r["Type"] == "AWS::Lambda::Function"}


def _handler_and_asset(outdir: Path, stack: str, function: dict[str, Any]) -> tuple[str, Path]:
    props, assets = function["Properties"], json.loads((outdir / f"{stack}.assets.json").read_text())
    if props.get("PackageType") == "Image":
        digest = json.dumps(props["Code"]["ImageUri"]).rsplit(":", 1)[-1].split('"')[0]
        return props["ImageConfig"]["Command"][0], outdir / assets["dockerImages"][digest]["source"]["directory"]
    digest = props["Code"]["S3Key"].removesuffix(".zip")
    return props["Handler"], outdir / assets["files"][digest]["source"]["path"]


def test_every_function_names_a_handler_that_imports_from_its_own_asset(assembly):
    by_asset: dict[Path, list[str]] = {}
    for (stack, _), function in _functions(assembly).items():
        handler, asset = _handler_and_asset(assembly, stack, function)
        assert asset.is_dir(), f"{handler}: asset {asset} missing"
        by_asset.setdefault(asset, []).append(handler)
    assert sum(len(h) for h in by_asset.values()) == len(_functions(assembly)) >= 10
    for asset, handlers in by_asset.items():
        probe = subprocess.run([sys.executable, "-I", "-c", _PROBE, str(asset), json.dumps(handlers)],
                               capture_output=True, text=True, timeout=300, cwd=asset,
                               env={**os.environ, "STAGE": STAGE, "POWERTOOLS_TRACE_DISABLED": "true"})
        assert probe.returncode == 0, probe.stderr[-2000:]
        assert json.loads(probe.stdout.strip().splitlines()[-1]) == [], asset.name


def test_every_environment_variable_is_a_settings_field(assembly):
    fields = {name.upper() for name in Settings.model_fields}
    for (_, logical), function in _functions(assembly).items():
        if logical.startswith("CustomCDKBucketDeployment"):  # CDK's own handler that copies the console's files
            continue
        variables = function["Properties"]["Environment"]["Variables"]
        assert set(variables) <= fields, (logical, set(variables) - fields)


def _queue_names(stacks: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Export name → queue name, for the queue ARNs other stacks import."""
    names: dict[str, str] = {}
    for template in stacks.values():
        for output in template.get("Outputs", {}).values():
            value, export = output.get("Value"), output.get("Export", {}).get("Name")
            if isinstance(value, dict) and "Fn::GetAtt" in value and export:
                resource = template["Resources"].get(value["Fn::GetAtt"][0], {})
                if resource.get("Type") == "AWS::SQS::Queue":
                    names[export] = resource["Properties"]["QueueName"]
    return names


def test_every_sqs_event_source_maps_to_its_catalog_consumer(assembly):
    stacks = _stacks(assembly)
    queue_of_export = _queue_names(stacks)
    consumers = {q.name: q for q in CATALOG.queues.values() if q.consumer}
    wired = set()
    for stack, template in stacks.items():
        for mapping in (r["Properties"] for r in template["Resources"].values()
                        if r["Type"] == "AWS::Lambda::EventSourceMapping"):
            queue = consumers[queue_of_export[mapping["EventSourceArn"]["Fn::ImportValue"]]]
            function = template["Resources"][mapping["FunctionName"]["Ref"]]
            handler, _ = _handler_and_asset(assembly, stack, function)
            # THEN the queue's consumer is the function's handler, with the catalog's batch size and partial failures
            assert handler == queue.consumer
            assert mapping["BatchSize"] == queue.batch_size
            assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            wired.add(queue.name)
    assert wired == set(consumers)


def test_every_schedule_targets_its_catalog_handler(assembly):
    schedules = {s.name: s for s in CATALOG.schedules.values()}
    wired = set()
    for stack, template in _stacks(assembly).items():
        for rule in (r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule"):
            if "ScheduleExpression" not in rule:
                continue
            spec = schedules[rule["Name"]]
            (target,) = rule["Targets"]
            handler, _ = _handler_and_asset(assembly, stack, template["Resources"][target["Arn"]["Fn::GetAtt"][0]])
            assert (handler, rule["ScheduleExpression"]) == (spec.handler, spec.rate)
            wired.add(spec.name)
    assert wired == set(schedules)
