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
