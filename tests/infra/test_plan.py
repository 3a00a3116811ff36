"""Deriving functions, visibility timeouts and environments from the catalog (pure: no synthesis)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.catalog import QueueSpec, ResourceCatalog, ScheduleSpec, build_catalog
from chalicelib.settings import Settings
from infra import bundle
from infra.config import DeploymentConfig
from infra.environment import settings_environment
from infra.plan import DEFAULT_TIMEOUT_S, VISIBILITY_FACTOR, function_package, plan_functions, queue_visibility_s
from infra.profiles import DEFAULT_PROFILE, FUNCTION_PROFILES


def _catalog(queues: dict[str, QueueSpec], schedules: dict[str, ScheduleSpec]) -> ResourceCatalog:
    base = build_catalog("unit")
    return base.model_copy(update={"queues": queues, "schedules": schedules})


def _queue(logical: str, consumer: str | None, timeout_s: int = 30, visibility_s: int = 60) -> QueueSpec:
    return QueueSpec(logical=logical, name=f"gt-unit-{logical}", dlq_name=f"gt-unit-{logical}-dlq",
                     max_receive_count=3, visibility_timeout_s=visibility_s, consumer=consumer,
                     consumer_timeout_s=timeout_s)


def test_every_consumer_and_schedule_handler_becomes_one_function() -> None:
    # GIVEN two queues consumed by one handler, an unconsumed queue, and a schedule with another handler
    catalog = _catalog(
        {"a": _queue("a", "functions.worker.handler.lambda_handler", timeout_s=20),
         "b": _queue("b", "functions.worker.handler.lambda_handler", timeout_s=40),
         "c": _queue("c", None)},
        {"tick": ScheduleSpec(logical="tick", name="gt-unit-tick", rate="rate(5 minutes)",
                              handler="functions.ticker.handler.lambda_handler")},
    )
    # WHEN the functions are planned
    plans = {plan.unit: plan for plan in plan_functions(catalog)}
    # THEN the worker has both queues (timeout = the longest consumer timeout) and the ticker its schedule
    assert set(plans) == {"worker", "ticker"}
    assert [q.logical for q in plans["worker"].queues] == ["a", "b"]
    assert plans["worker"].timeout_s == 40
    assert plans["worker"].name == "gt-unit-fn-worker"
    assert [s.logical for s in plans["ticker"].schedules] == ["tick"]
    assert plans["ticker"].timeout_s == DEFAULT_TIMEOUT_S
    assert plans["ticker"].profile == DEFAULT_PROFILE


def test_two_handlers_in_one_package_become_two_functions() -> None:
    catalog = _catalog(
        {"a": _queue("a", "functions.xray.handler.read"), "b": _queue("b", "functions.xray.handler.sweep")}, {})
    names = sorted(plan.name for plan in plan_functions(catalog))
    assert names == ["gt-unit-fn-xray-read", "gt-unit-fn-xray-sweep"]


def test_known_packages_get_their_profile() -> None:
    catalog = _catalog({}, {"r": ScheduleSpec(logical="r", name="gt-unit-r", rate="rate(1 hour)",
                                              handler="functions.footage_retention.handler.lambda_handler")})
    (plan,) = plan_functions(catalog)
    assert plan.profile == FUNCTION_PROFILES["footage_retention"]
    assert plan.timeout_s == FUNCTION_PROFILES["footage_retention"].timeout_s


@pytest.mark.parametrize("handler", ["app.app", "chalicelib.x.y", "functions.only"])
def test_a_handler_outside_functions_is_rejected(handler: str) -> None:
    with pytest.raises(ValueError, match="functions"):
        function_package(handler)


def test_visibility_is_raised_to_six_times_the_consumers_timeout() -> None:
    # GIVEN a queue whose catalog visibility (60 s) is below 6x its consumer's 30 s timeout
    queue = _queue("a", "functions.worker.handler.lambda_handler", timeout_s=30, visibility_s=60)
    plans = plan_functions(_catalog({"a": queue}, {}))
    # THEN the deployed visibility is 180 s; an unconsumed queue keeps the catalog's value
    assert queue_visibility_s(queue, plans) == VISIBILITY_FACTOR * 30
    idle = _queue("b", None, visibility_s=45)
    assert queue_visibility_s(idle, plans) == 45


def test_environment_uses_settings_field_names_and_refuses_others() -> None:
    catalog = build_catalog("unit")
    env = settings_environment(catalog, media_edge_url="https://d.example")
    # THEN the names are Settings fields upper-cased, and Settings reads them back
    assert env["STAGE"] == "unit" and env["MEDIA_EDGE_URL"] == "https://d.example"
    assert Settings.from_env(env).footage_retention_days == catalog.buckets["footage"].expire_after_days
    with pytest.raises(ValueError, match="not settable"):
        settings_environment(catalog, no_such_setting="x")
    with pytest.raises(ValueError, match="aws_region"):
        settings_environment(catalog, aws_region="us-east-1")  # Lambda reserves AWS_REGION
    # AND a deployment choice left unset is no variable (the field keeps its default), but is still a field
    unset = settings_environment(catalog, agency_client_certificate_secret=None)
    assert "AGENCY_CLIENT_CERTIFICATE_SECRET" not in unset
    assert Settings.from_env(unset).agency_client_certificate_secret is None
    with pytest.raises(ValueError, match="not settable"):
        settings_environment(catalog, no_such_setting=None)


def test_deployment_config_defaults_and_context_parsing() -> None:
    config = DeploymentConfig.model_validate({"stage": "prod", "batch_instance_types": ("g5.2xlarge",)})
    assert config.secret_name == "gt/prod/media-signing-key"
    assert DeploymentConfig().stage == "dev"
    with pytest.raises(ValueError, match="stage"):
        DeploymentConfig(stage="Prod!")


def test_context_strings_from_the_cli_are_parsed() -> None:
    from aws_cdk import App

    # GIVEN context as `cdk -c key=value` passes it (strings)
    app = App(context={"stage": "prod", "require_layers": "true", "batch_instance_types": "g5.xlarge, g6.xlarge"})
    config = DeploymentConfig.from_context(app.node)
    assert config.stage == "prod"
    assert config.require_layers is True
    assert config.batch_instance_types == ("g5.xlarge", "g6.xlarge")


def test_unbuilt_layers_are_placeholders_unless_required(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle, "REPO_ROOT", tmp_path)  # a clone where layers/<name>/build.sh never ran
    placeholder = bundle.layer_directory("ml", tmp_path / "out", required=False)
    assert (placeholder / "python" / bundle.LAYER_PLACEHOLDER).is_file()
    with pytest.raises(FileNotFoundError, match=r"layers/ml/build\.sh"):
        bundle.layer_directory("ml", tmp_path / "out", required=True)
    built = tmp_path / "build" / "layers" / "ml" / "python"
    built.mkdir(parents=True)
    assert bundle.layer_directory("ml", tmp_path / "out", required=True) == built.parent
