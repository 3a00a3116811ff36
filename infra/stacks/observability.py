"""Observability: alarms on every function, queue and the API, an alarm topic, and one dashboard."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from chalicelib.catalog import ResourceCatalog
from infra.constructs.alarms import PERIOD, FunctionAlarms, QueueAlarms, alarm
from infra.names import infra_name, pascal
from infra.plan import FunctionPlan, queue_visibility_s
from infra.stacks.api import API_STAGE


class ObservabilityStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, catalog: ResourceCatalog,
                 plans: tuple[FunctionPlan, ...], api_function: tuple[str, int], **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        stage = catalog.stage
        key = kms.Key(self, "AlarmKey", alias=f"alias/{infra_name(stage, 'alarms')}", enable_key_rotation=True,
                      removal_policy=RemovalPolicy.RETAIN, description="Encrypts the alarm topic.")
        key.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish", principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=["*"],
        ))
        self.topic = sns.Topic(self, "AlarmTopic", topic_name=infra_name(stage, "alarms"), master_key=key,
                               enforce_ssl=True)
        self.functionalarms: dict[str, FunctionAlarms] = {}
        functions = [(plan.name, plan.timeout_s) for plan in plans] + [api_function]
        for name, timeout_s in functions:
            self.functionalarms[name] = FunctionAlarms(self, pascal(name), function_name=name, timeout_s=timeout_s,
                                                        topic=self.topic)
        self.queuealarms = {
            spec.logical: QueueAlarms(self, pascal(spec.logical) + "Queue", spec=spec,
                                      visibility_s=queue_visibility_s(spec, plans), topic=self.topic)
            for spec in catalog.queues.values()
        }
        api_name = infra_name(stage, "api")
        api_5xx = cw.Metric(namespace="AWS/ApiGateway", metric_name="5XXError", statistic="Sum", period=PERIOD,
                            dimensions_map={"ApiName": api_name, "Stage": API_STAGE})
        api_p99 = cw.Metric(namespace="AWS/ApiGateway", metric_name="Latency", statistic="p99", period=PERIOD,
                            dimensions_map={"ApiName": api_name, "Stage": API_STAGE})
        alarm(self, "Api5xx", name=f"{api_name}-5xx", metric=api_5xx, threshold=5, topic=self.topic,
               description="The API answered 5xx: bad input must be 4xx, so this is a fault.")
        alarm(self, "ApiLatency", name=f"{api_name}-latency-p99", metric=api_p99, threshold=3000, topic=self.topic,
               description="API p99 latency above 3 s.")
        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=infra_name(stage, "operations"),
                                      default_interval=Duration.hours(6))
        self.dashboard.add_widgets(cw.GraphWidget(title="API 5xx / p99 latency (ms)", left=[api_5xx], right=[api_p99],
                                                  width=24))
        for name, alarms in self.functionalarms.items():
            self.dashboard.add_widgets(
                cw.GraphWidget(title=f"{name} errors / throttles", left=[alarms.errors, alarms.throttles], width=12),
                cw.GraphWidget(title=f"{name} p99 duration (ms)", left=[alarms.duration_p99], width=12),
            )
        for logical, queue in self.queuealarms.items():
            self.dashboard.add_widgets(
                cw.GraphWidget(title=f"{logical}: oldest message (s)", left=[queue.oldest_age], width=12),
                cw.GraphWidget(title=f"{logical}: DLQ depth", left=[queue.dlq_depth], width=12),
            )
