"""Alarms on functions and queues, addressed by their catalog names (no cross-stack references needed)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from chalicelib.catalog import QueueSpec

PERIOD = Duration.minutes(5)
DURATION_ALARM_FRACTION = 0.8  # p99 above 80% of the timeout: about to time out


def alarm(scope: Construct, construct_id: str, *, name: str, metric: cw.Metric, threshold: float,
           description: str, topic: sns.ITopic) -> cw.Alarm:
    alarm = cw.Alarm(scope, construct_id, alarm_name=name, metric=metric, threshold=threshold, evaluation_periods=1,
                     comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                     treat_missing_data=cw.TreatMissingData.NOT_BREACHING, alarm_description=description)
    alarm.add_alarm_action(cw_actions.SnsAction(topic))
    return alarm


class FunctionAlarms(Construct):
    """Errors, throttles and p99 duration of one Lambda function."""

    def __init__(self, scope: Construct, construct_id: str, *, function_name: str, timeout_s: int,
                 topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)

        def metric(name: str, statistic: str) -> cw.Metric:
            return cw.Metric(namespace="AWS/Lambda", metric_name=name, statistic=statistic, period=PERIOD,
                             dimensions_map={"FunctionName": function_name})

        self.errors = metric("Errors", "Sum")
        self.throttles = metric("Throttles", "Sum")
        self.duration_p99 = metric("Duration", "p99")
        self.alarms = [
            alarm(self, "Errors", name=f"{function_name}-errors", metric=self.errors, threshold=1, topic=topic,
                   description=f"{function_name} raised errors (failed records go back to the queue and its DLQ)."),
            alarm(self, "Throttles", name=f"{function_name}-throttles", metric=self.throttles, threshold=1,
                   topic=topic, description=f"{function_name} hit its reserved concurrency."),
            alarm(self, "DurationP99", name=f"{function_name}-duration-p99", metric=self.duration_p99,
                   threshold=timeout_s * 1000 * DURATION_ALARM_FRACTION, topic=topic,
                   description=f"{function_name} p99 duration is above 80% of its {timeout_s} s timeout."),
        ]


class QueueAlarms(Construct):
    """Messages in the dead-letter queue, and the age of the oldest message waiting in the work queue."""

    def __init__(self, scope: Construct, construct_id: str, *, spec: QueueSpec, visibility_s: int,
                 topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        self.dlq_depth = cw.Metric(namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
                                   statistic="Maximum", period=PERIOD, dimensions_map={"QueueName": spec.dlq_name})
        self.oldest_age = cw.Metric(namespace="AWS/SQS", metric_name="ApproximateAgeOfOldestMessage",
                                    statistic="Maximum", period=PERIOD, dimensions_map={"QueueName": spec.name})
        self.age_threshold_s = max(300, 2 * visibility_s)
        self.alarms = [
            alarm(self, "DlqDepth", name=f"{spec.dlq_name}-depth", metric=self.dlq_depth, threshold=1, topic=topic,
                   description=f"Messages of {spec.name} failed {spec.max_receive_count} times and wait in the DLQ."),
            alarm(self, "OldestAge", name=f"{spec.name}-age", metric=self.oldest_age,
                   threshold=self.age_threshold_s, topic=topic,
                   description=f"{spec.name} is backing up: its oldest message waits too long."),
        ]
