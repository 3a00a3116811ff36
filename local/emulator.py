"""AWS emulation: moto server on loopback, provisioned from the resource catalog."""

from __future__ import annotations

import atexit
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.catalog import ResourceCatalog

logger = logging.getLogger(__name__)
_ROOT = Path(__file__).resolve().parent.parent


def _pythonpath() -> str:
    return os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))


class Emulator:
    """A moto server in its own process: it gets the second core, and nothing in the platform's
    process (or a test's in-process moto) can intercept its traffic."""

    def __init__(self, host: str = "127.0.0.1", port: int = 4566, *, state_dir: Path,
                 log_file: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.state_dir = state_dir
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        if self.port == 0:
            with socket.socket() as probe:  # an ephemeral port for tests
                probe.bind((self.host, 0))
                self.port = probe.getsockname()[1]
        else:
            refuse_if_held(self.host, self.port, self.state_dir)
        log = open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "local.emulator_server", "--host", self.host, "--port", str(self.port),
             "--state-dir", str(self.state_dir), "--parent-pid", str(os.getpid())],
            stdout=log, stderr=log, cwd=_ROOT, env={**os.environ, "PYTHONPATH": _pythonpath()},
            start_new_session=True)  # Ctrl-C reaches us first; we stop it in order
        atexit.register(self.stop)  # never leave an orphan server behind
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the AWS emulator exited at start (port {self.port} busy? state in "
                                   f"{self.state_dir} in use? see {self._log_file})")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the AWS emulator did not answer on {self.endpoint_url} within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()  # it takes a last checkpoint, then exits
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


def refuse_if_held(host: str, port: int, state_dir: Path) -> None:
    """A server already on the port would silently answer with its own (old) state: refuse to start."""
    with socket.socket() as probe:
        if probe.connect_ex((host, port)) != 0:
            return
    pid_file = state_dir / "emulator.pid"
    owner = f" (an emulator, pid {pid_file.read_text().strip()}, per {pid_file})" if pid_file.exists() else ""
    raise RuntimeError(f"port {port} on {host} is already in use{owner}: stop that process first")


def provision(catalog: ResourceCatalog, *, s3: Any, sqs: Any, dynamodb: Any, sns: Any, region: str,
              secretsmanager: Any | None = None) -> None:
    """Create every bucket, queue (with DLQ and redrive), table, topic, S3 → SQS notification and, given a
    ``secretsmanager`` client, every secret (a random value, as the CDK app generates one per stage).

    Idempotent: resources that already exist are left as they are; an existing secret keeps its value.
    """
    for bucket in catalog.buckets.values():
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if bucket.name not in existing:
            s3.create_bucket(Bucket=bucket.name, CreateBucketConfiguration={"LocationConstraint": region},
                             ObjectLockEnabledForBucket=bucket.object_lock)
        if bucket.versioned:
            s3.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"})

    queue_arns: dict[str, str] = {}
    for queue in catalog.queues.values():
        dlq_url = sqs.create_queue(QueueName=queue.dlq_name, Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count})
        url = sqs.create_queue(QueueName=queue.name, Attributes={
            "VisibilityTimeout": str(queue.visibility_timeout_s), "RedrivePolicy": redrive})["QueueUrl"]
        queue_arns[queue.logical] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    existing_tables = set(dynamodb.list_tables().get("TableNames", []))
    for table in catalog.tables.values():
        if table.name in existing_tables:
            continue
        keys = [(table.partition_key, "HASH")] + ([(table.sort_key, "RANGE")] if table.sort_key else [])
        attributes = {name for name, _ in keys} | {i.partition_key for i in table.indexes} | {
            i.sort_key for i in table.indexes if i.sort_key}
        kwargs: dict[str, Any] = {
            "TableName": table.name,
            "KeySchema": [{"AttributeName": n, "KeyType": t} for n, t in keys],
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "N" if a in table.number_keys else "S"}
                                     for a in sorted(attributes)],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if table.indexes:
            kwargs["GlobalSecondaryIndexes"] = [{
                "IndexName": i.name,
                "KeySchema": [{"AttributeName": i.partition_key, "KeyType": "HASH"}]
                + ([{"AttributeName": i.sort_key, "KeyType": "RANGE"}] if i.sort_key else []),
                "Projection": {"ProjectionType": "ALL"},
            } for i in table.indexes]
        dynamodb.create_table(**kwargs)
        if table.ttl_attribute:
            dynamodb.update_time_to_live(TableName=table.name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": table.ttl_attribute})

    for topic in catalog.topics.values():
        topic_arn = sns.create_topic(Name=topic.name)["TopicArn"]
        for logical in topic.subscribers:  # idempotent: SNS returns the existing subscription
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arns[logical],
                          Attributes={"RawMessageDelivery": "true"})

    by_bucket: dict[str, list[dict[str, Any]]] = {}
    for rule in catalog.notifications:
        filters = [{"Name": "prefix", "Value": rule.prefix}] if rule.prefix else []
        if rule.suffix:
            filters.append({"Name": "suffix", "Value": rule.suffix})
        config: dict[str, Any] = {"QueueArn": queue_arns[rule.queue], "Events": list(rule.events)}
        if filters:
            config["Filter"] = {"Key": {"FilterRules": filters}}
        by_bucket.setdefault(catalog.bucket(rule.bucket), []).append(config)
    for bucket_name, configs in by_bucket.items():
        s3.put_bucket_notification_configuration(Bucket=bucket_name,
                                                 NotificationConfiguration={"QueueConfigurations": configs})
    if secretsmanager is not None:
        provision_secrets(catalog, secretsmanager)
    logger.info("provisioned %d buckets, %d queues, %d tables, %d topics, %d secrets", len(catalog.buckets),
                len(catalog.queues), len(catalog.tables), len(catalog.topics),
                len(catalog.secrets) if secretsmanager is not None else 0)


def provision_secrets(catalog: ResourceCatalog, secretsmanager: Any) -> None:
    """Create each catalog secret that does not exist yet with a random value; never overwrite one (a new
    de-identification key would change every UID derived from it)."""
    for spec in catalog.secrets.values():
        try:
            secretsmanager.create_secret(Name=spec.name, Description=spec.description,
                                         SecretString=secrets.token_hex(32))
        except ClientError as exc:  # already there (an earlier start, another process): keep its value
            if exc.response.get("Error", {}).get("Code") != "ResourceExistsException":
                raise
