"""Batch: a GPU compute environment, job queue and job definition for the missing-person search shards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from chalicelib.catalog import ResourceCatalog
from infra.config import DeploymentConfig
from infra.constructs.function import LOG_RETENTION, XRAY_ACTIONS, DataPlane, acknowledge_wildcards, grant
from infra.nag import suppress
from infra.names import SEARCH_JOB_DEFINITION, SEARCH_JOB_QUEUE, infra_name
from infra.profiles import SEARCH_SHARD_PROFILE

SHARD_TIMEOUT = Duration.minutes(30)
SHARD_ATTEMPTS = 3


class BatchStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, catalog: ResourceCatalog, config: DeploymentConfig,
                 plane: DataPlane, image_context: Path, environment: dict[str, str], **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        stage = catalog.stage
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN)
        self.vpc = ec2.Vpc(
            self, "Vpc", vpc_name=infra_name(stage, "batch"), max_azs=2, nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="workers", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20),
            ],
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                               "DynamoDB": ec2.GatewayVpcEndpointOptions(
                                   service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)},
            flow_logs={"All": ec2.FlowLogOptions(destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))},
        )
        self.compute = batch.ManagedEc2EcsComputeEnvironment(
            self, "GpuCompute", compute_environment_name=infra_name(stage, "search-gpu"), vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            instance_types=[ec2.InstanceType(t) for t in config.batch_instance_types],
            use_optimal_instance_classes=False, minv_cpus=0, maxv_cpus=config.batch_max_vcpus,
            images=[batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023_NVIDIA)],
            allocation_strategy=batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
        )
        suppress(self.compute, "IAM4", "ECS container instances need AWS's managed ECS-for-EC2 role policy "
                 "(registration, image pulls); it is what AWS Batch documents.",
                 ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"])
        self.queue = batch.JobQueue(
            self, "SearchQueue", job_queue_name=infra_name(stage, SEARCH_JOB_QUEUE), priority=1,
            compute_environments=[batch.OrderedComputeEnvironment(compute_environment=self.compute, order=1)],
        )
        self.job_role = iam.Role(self, "ShardRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
                                 description="search shard task: footage/models in, results to media")
        self.job_role.add_to_policy(iam.PolicyStatement(actions=list(XRAY_ACTIONS), resources=["*"]))
        suppress(self.job_role, "IAM5", "X-Ray trace upload supports no resource-level permissions.", ["Resource::*"])
        acknowledge_wildcards(self.job_role, grant(self.job_role, SEARCH_SHARD_PROFILE, plane))
        shard_logs = logs.LogGroup(self, "ShardLogs", log_group_name=f"/gt/{stage}/search-shard",
                                   retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN)
        container = batch.EcsEc2ContainerDefinition(
            self, "ShardContainer",
            # A Docker image asset: synthesis only stages the context; `cdk deploy` builds and pushes it.
            image=ecs.ContainerImage.from_asset(str(image_context)),
            cpu=4, memory=Size.gibibytes(15), gpu=1, job_role=self.job_role, environment=environment,
            logging=ecs.LogDriver.aws_logs(stream_prefix="shard", log_group=shard_logs),
        )
        suppress(container, "IAM5", "The execution role's ecr:GetAuthorizationToken accepts only \"*\"; image pulls "
                 "are scoped to the asset repository.", ["Resource::*"])
        self.job_definition = batch.EcsJobDefinition(
            self, "SearchShard", job_definition_name=infra_name(stage, SEARCH_JOB_DEFINITION),
            container=container,
            retry_attempts=SHARD_ATTEMPTS,
            retry_strategies=[
                batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.CANNOT_PULL_CONTAINER),
                batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
                batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.NON_ZERO_EXIT_CODE),
            ],
            timeout=SHARD_TIMEOUT, propagate_tags=True,
        )
