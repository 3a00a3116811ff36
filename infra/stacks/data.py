"""Data: the catalog's DynamoDB tables with point-in-time recovery, TTL where records expire, and their GSIs."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from chalicelib.catalog import ResourceCatalog, TableSpec
from infra.names import infra_name, pascal


class DataStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, catalog: ResourceCatalog, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.key = kms.Key(self, "TableKey", alias=f"alias/{infra_name(catalog.stage, 'tables')}",
                           enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN,
                           description="Encrypts every Golden Time table.")
        self.tables: dict[str, dynamodb.Table] = {spec.logical: self._table(spec) for spec in catalog.tables.values()}

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        def attribute(name: str) -> dynamodb.Attribute:
            kind = dynamodb.AttributeType.NUMBER if name in spec.number_keys else dynamodb.AttributeType.STRING
            return dynamodb.Attribute(name=name, type=kind)

        table = dynamodb.Table(
            self, pascal(spec.logical) + "Table", table_name=spec.name,
            partition_key=attribute(spec.partition_key),
            sort_key=attribute(spec.sort_key) if spec.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED, encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            time_to_live_attribute=spec.ttl_attribute, deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name, partition_key=attribute(index.partition_key),
                sort_key=attribute(index.sort_key) if index.sort_key else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table
