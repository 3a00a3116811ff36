"""AWS emulation: moto server on loopback, provisioned from the resource catalog."""

from __future__ import annotations

import json
import logging
from typing import Any

from moto.server import ThreadedMotoServer

from chalicelib.catalog import ResourceCatalog

logger = logging.getLogger(__name__)


class Emulator:
    """A moto server in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 4566) -> None:
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.host = host
        self.port = port

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per emulated AWS call otherwise
        self._server.start()
        self.host, self.port = self._server.get_host_and_port()

    def stop(self) -> None:
        self._server.stop()


def provision(catalog: ResourceCatalog, *, s3: Any, sqs: Any, dynamodb: Any, sns: Any, region: str) -> None:
    """Create every bucket, queue (with DLQ and redrive), table, topic and S3 → SQS notification.

    Idempotent: resources that already exist are left as they are.
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
        sns.create_topic(Name=topic.name)

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
    logger.info("provisioned %d buckets, %d queues, %d tables, %d topics", len(catalog.buckets),
                len(catalog.queues), len(catalog.tables), len(catalog.topics))
