"""cdk-nag acknowledgements in one place: each names the rule (and, for IAM5, the exact finding) and the reason.

cdk-nag 3 reports through CDK's policy-validation plugins; an acknowledgement applies to the construct it is
given and everything below it, and is copied into the template's Metadata (``cdk_nag.rules_to_suppress``).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def suppress(construct: IConstruct, rule: str, reason: str, findings: Sequence[str] = ()) -> None:
    """Acknowledge ``AwsSolutions-<rule>`` (or each ``AwsSolutions-<rule>[finding]``) on ``construct``."""
    ids = [f"AwsSolutions-{rule}[{finding}]" for finding in findings] or [f"AwsSolutions-{rule}"]
    Validations.of(construct).acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id in ids))


def suppress_bucket_deployment(stack: IConstruct, *, destination: str, what: str) -> None:
    """The acknowledgements CDK's BucketDeployment handler needs in ``stack``: it writes ``what`` into the bucket
    whose ARN reads ``destination`` in cdk-nag's findings, from the CDK asset bucket, and invalidates paths."""
    suppress(stack, "IAM4", "CDK's BucketDeployment handler uses the AWS managed basic-execution policy.",
             findings=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"])
    suppress(stack, "IAM5", f"CDK's BucketDeployment handler reads the staged asset, writes {what} and invalidates "
             "its paths on the distribution (CloudFront takes no narrower resource for CreateInvalidation here).",
             findings=[*(f"Action::s3:{a}" for a in ("Abort*", "DeleteObject*", "GetBucket*", "GetObject*", "List*")),
                       "Resource::*", f"Resource::{destination}/*",
                       "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*"])
    suppress(stack, "L1", "CDK's BucketDeployment handler pins its own Lambda runtime (a CDK upgrade moves it).")
