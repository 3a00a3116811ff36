"""The AWS Batch executor's requests (botocore Stubber at the AWS boundary) and the shard container's
entry point reading its index and parameters from the environment."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.batch import AwsBatchExecutor, build_batch_executor, parameter_env_name
from chalicelib.settings import Settings


def _executor():
    client = boto3.client("batch", region_name="ap-northeast-2")
    return AwsBatchExecutor(client, job_queue="gt-test-search", job_definition="gt-test-search-shard"), Stubber(client)


def test_array_job_carries_size_entry_point_and_parameters():
    executor, stub = _executor()
    # GIVEN AWS Batch expecting one array job of three children with the search id in the environment
    stub.add_response("submit_job", {"jobName": "search-abc", "jobId": "job-1"}, {
        "jobName": "search-abc", "jobQueue": "gt-test-search", "jobDefinition": "gt-test-search-shard",
        "arrayProperties": {"size": 3},
        "containerOverrides": {"environment": [
            {"name": "SHARD_ENTRY_POINT", "value": "functions.search_shard.handler.run_shard"},
            {"name": "SHARD_PARAM_SEARCH_ID", "value": "abc"}]}})
    stub.add_response("describe_jobs", {"jobs": [{
        "jobName": "search-abc", "jobId": "job-1", "jobQueue": "q", "status": "RUNNING", "startedAt": 1,
        "jobDefinition": "d", "arrayProperties": {"size": 3, "statusSummary": {"SUCCEEDED": 2, "FAILED": 1}}}]},
        {"jobs": ["job-1"]})
    with stub:
        # WHEN submitted and then polled
        job_id = executor.submit("search-abc", "functions.search_shard.handler.run_shard", 3, {"search_id": "abc"})
        status = executor.status(job_id)
    # THEN the request matched and the array's summary is read back
    assert job_id == "job-1" and (status.total, status.succeeded, status.failed, status.done) == (3, 2, 1, True)


def test_single_shard_is_a_plain_job_because_arrays_need_two_children():
    executor, stub = _executor()
    stub.add_response("submit_job", {"jobName": "s", "jobId": "job-2"}, {
        "jobName": "s", "jobQueue": "gt-test-search", "jobDefinition": "gt-test-search-shard",
        "containerOverrides": {"environment": [{"name": "SHARD_ENTRY_POINT", "value": "m.f"},
                                               {"name": "SHARD_PARAM_SEARCH_ID", "value": "x"}]}})
    with stub:
        assert executor.submit("s", "m.f", 1, {"search_id": "x"}) == "job-2"
    with pytest.raises(ValueError, match="at least one"):
        executor.submit("s", "m.f", 0, {})


def test_cloud_settings_choose_aws_batch_names_from_the_stage():
    executor = build_batch_executor(Settings(stage="prod"), boto3.client("batch", region_name="ap-northeast-2"))
    assert isinstance(executor, AwsBatchExecutor)
    assert parameter_env_name("search-id") == "SHARD_PARAM_SEARCH_ID"


def test_container_entry_point_needs_a_search_id(monkeypatch):
    from functions.search_shard import handler

    calls = []
    monkeypatch.setattr(handler, "run_shard", lambda index, parameters: calls.append((index, parameters)))
    # GIVEN no parameters: refused without running anything
    assert handler.main({"AWS_BATCH_JOB_ARRAY_INDEX": "1"}) == 2 and calls == []
    # GIVEN the array index and the search id as AWS Batch passes them
    assert handler.main({"AWS_BATCH_JOB_ARRAY_INDEX": "4", "SHARD_PARAM_SEARCH_ID": "abc"}) == 0
    assert handler.main({"SHARD_PARAM_SEARCH_ID": "abc"}) == 0  # a one-shard (plain) job has no index
    assert calls == [(4, {"search_id": "abc"}), (0, {"search_id": "abc"})]
