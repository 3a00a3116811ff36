"""A work queue with its dead-letter queue: SSE, TLS-only, redrive after the catalog's receive count."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chalicelib.catalog import QueueSpec

DLQ_RETENTION = Duration.days(14)


class QueueWithDlq(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, spec: QueueSpec, visibility_s: int) -> None:
        super().__init__(scope, construct_id)
        fifo = True if spec.fifo else None
        self.dlq = sqs.Queue(
            self, "Dlq", queue_name=spec.dlq_name, fifo=fifo, encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True, retention_period=DLQ_RETENTION, removal_policy=RemovalPolicy.RETAIN,
        )
        self.queue = sqs.Queue(
            self, "Queue", queue_name=spec.name, fifo=fifo, encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True, visibility_timeout=Duration.seconds(visibility_s),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=spec.max_receive_count, queue=self.dlq),
            removal_policy=RemovalPolicy.RETAIN,
        )
