"""Shared fixtures: moto at the AWS boundary, the provisioned catalog, and the local platform."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

# Never let a test reach a real account, whatever the developer's shell holds.
os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "ap-northeast-2",
                   "AWS_REGION": "ap-northeast-2", "STAGE": "test", "POWERTOOLS_TRACE_DISABLED": "true",
                   "POWERTOOLS_METRICS_NAMESPACE": "GoldenTime", "POWERTOOLS_DEV": "false",
                   "WEBHOOK_PRIVATE_TARGETS": "true"})  # receivers on loopback; the refusal is tested on its own
os.environ.pop("AWS_ENDPOINT_URL", None)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EVENTS = ROOT / "events"


def load_event(relative: str) -> dict[str, Any]:
    """A sample event from events/ (the same files document every trigger)."""
    data: dict[str, Any] = json.loads((EVENTS / relative).read_text())
    return data


def scheduled_event(template: str, ms: int) -> dict[str, Any]:
    """The schedule sample ``template`` (under events/) fired at epoch ``ms`` (EventBridge keeps whole seconds)."""
    event = copy.deepcopy(load_event(template))
    event["time"] = datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def s3_sqs_event(objects: list[dict[str, Any]], *, template: str, receive_count: int = 1,
                 sent_ms: int | None = None, message_ids: list[str] | None = None) -> dict[str, Any]:
    """An SQS event carrying one S3 notification per object ({bucket, key, etag, size, version_id?}),
    shaped after the sample event ``events/<template>`` (keys URL-encoded, as S3 sends them)."""
    sample = load_event(template)["Records"][0]
    records = []
    for i, obj in enumerate(objects):
        record = copy.deepcopy(sample)
        body = json.loads(record["body"])
        s3 = body["Records"][0]["s3"]
        s3["bucket"]["name"] = obj["bucket"]
        s3["bucket"]["arn"] = f"arn:aws:s3:::{obj['bucket']}"
        s3["object"].update({"key": quote_plus(obj["key"]), "eTag": obj["etag"], "size": obj.get("size", 1)})
        if obj.get("version_id"):
            s3["object"]["versionId"] = obj["version_id"]
        else:
            s3["object"].pop("versionId", None)
        record["body"] = json.dumps(body)
        record["messageId"] = message_ids[i] if message_ids else f"msg-{i}-{obj['key'][-20:]}"
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        if sent_ms is not None:
            record["attributes"]["SentTimestamp"] = str(sent_ms)
        records.append(record)
    return {"Records": records}


def _forget_cached_services() -> None:
    from chalicelib.adapters import aws as aws_clients
    from chalicelib.api import context
    from chalicelib.settings import get_settings

    aws_clients.reset_clients()
    get_settings.cache_clear()
    context.reset_platform()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in-process with every catalog resource provisioned; yields Resources for stage 'test'."""
    from moto import mock_aws

    from chalicelib.adapters.resources import Resources
    from chalicelib.settings import get_settings
    from local.emulator import provision

    monkeypatch.setenv("STAGE", "test")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        _forget_cached_services()
        resources = Resources(get_settings())
        provision(resources.catalog, s3=resources.client("s3"), sqs=resources.client("sqs"),
                  dynamodb=resources.client("dynamodb"), sns=resources.client("sns"),
                  secretsmanager=resources.client("secretsmanager"), region="ap-northeast-2")
        yield resources
    _forget_cached_services()


_PLATFORMS: list[Any] = []
"""The local platform this worker process started (at most one): it lives until the session ends."""


@pytest.fixture(autouse=True)
def _platform_set_aside(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that does not use the worker's local platform runs as if none were running: the platform's pump
    invokes the same handler modules (module-level BatchProcessor, cached runtimes) in its threads, and would
    otherwise mix its batches (an earlier end-to-end test's dispatch, still retried) into this test's calls,
    under this test's environment. Autouse, so it is set up first and resumes the platform last, after the
    test's monkeypatched environment is restored."""
    if not _PLATFORMS or "local_platform" in request.fixturenames:
        yield
        return
    with _PLATFORMS[0].paused():
        yield


@pytest.fixture(scope="session")
def local_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The whole local platform on ephemeral ports, shared by the end-to-end tests of one worker."""
    from local.platform import LocalPlatform, PlatformConfig

    config = PlatformConfig(state_dir=tmp_path_factory.mktemp("local"), stage="e2e", aws_port=0, api_port=0,
                            edge_port=0, with_schedules=False, batch_workers=2)
    saved = dict(os.environ)
    platform = LocalPlatform(config)
    platform.start()
    _PLATFORMS.append(platform)
    yield platform
    _PLATFORMS.remove(platform)
    platform.stop()
    os.environ.clear()
    os.environ.update(saved)
    _forget_cached_services()


def pytest_configure(config: pytest.Config) -> None:
    """The typed API client generated from openapi.json (tests/client_support.py) is importable in every
    test module: generated once per contract into build/clients/, then only put on sys.path."""
    from client_support import api_client

    api_client()
