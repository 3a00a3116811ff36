"""Messaging: every catalog queue with its DLQ, S3 → SQS permissions, and the SNS topics."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chalicelib.catalog import ResourceCatalog
from infra.constructs.queue import QueueWithDlq
from infra.names import infra_name, pascal
from infra.plan import FunctionPlan, queue_visibility_s


class MessagingStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, catalog: ResourceCatalog,
                 plans: tuple[FunctionPlan, ...], **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.catalog = catalog
        self.key = kms.Key(self, "TopicKey", alias=f"alias/{infra_name(catalog.stage, 'messaging')}",
                           enable_key_rotation=True, pending_window=Duration.days(30),
                           removal_policy=RemovalPolicy.RETAIN, description="Encrypts the SNS topics.")
        self.queues: dict[str, sqs.Queue] = {}
        self.dlqs: dict[str, sqs.Queue] = {}
        for spec in catalog.queues.values():
            pair = QueueWithDlq(self, pascal(spec.logical), spec=spec, visibility_s=queue_visibility_s(spec, plans))
            self.queues[spec.logical] = pair.queue
            self.dlqs[spec.logical] = pair.dlq
        for rule in catalog.notifications:
            # The bucket's ARN is written from the catalog name, so storage (which points its notifications
            # here) depends on messaging and never the other way round.
            self.queues[rule.queue].add_to_resource_policy(iam.PolicyStatement(
                sid=f"S3Notify{pascal(rule.bucket)}",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queues[rule.queue].queue_arn],
                conditions={"ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:s3:::{catalog.bucket(rule.bucket)}"},
                            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ))
        self.topics: dict[str, sns.Topic] = {
            spec.logical: sns.Topic(self, pascal(spec.logical) + "Topic", topic_name=spec.name, master_key=self.key,
                                    enforce_ssl=True)
            for spec in catalog.topics.values()
        }
        for topic in catalog.topics.values():
            for logical in topic.subscribers:
                self.topics[topic.logical].add_subscription(
                    subscriptions.SqsSubscription(self.queues[logical], raw_message_delivery=True))
