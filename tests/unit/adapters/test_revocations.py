"""Revocation through the CloudFront KeyValueStore API (botocore Stubber: moto lacks the service).

The request shapes are checked by botocore against the published service model, so a wrong
parameter name or type fails here as it would against AWS.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.revocations import KeyValueStoreRevocations
from chalicelib.errors import TransientError

ARN = "arn:aws:cloudfront::123456789012:key-value-store/9f6b2c1e-1d2a-4b8e-9c1a-0123456789ab"
LINK = "vl-0123456789abcdef"


@pytest.fixture
def client():
    return boto3.client("cloudfront-keyvaluestore", region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x")


def _describe(etag: str) -> dict[str, Any]:
    return {"KvsARN": ARN, "Created": "2026-11-30T00:00:00Z", "ETag": etag, "ItemCount": 3,
            "TotalSizeInBytes": 120}


def test_revoking_puts_the_link_id_with_the_stores_etag(client):
    with Stubber(client) as stub:
        stub.add_response("describe_key_value_store", _describe("ETAG-1"), {"KvsARN": ARN})
        stub.add_response("put_key", {"ETag": "ETAG-2", "ItemCount": 4, "TotalSizeInBytes": 160},
                          {"KvsARN": ARN, "Key": LINK, "Value": "incident closed", "IfMatch": "ETAG-1"})

        KeyValueStoreRevocations(client, ARN).revoke(LINK, "incident closed")

        stub.assert_no_pending_responses()


def test_a_concurrent_writer_is_retried_with_the_new_etag(client):
    with Stubber(client) as stub:
        stub.add_response("describe_key_value_store", _describe("ETAG-1"), {"KvsARN": ARN})
        stub.add_client_error("put_key", "ConflictException", http_status_code=409)
        stub.add_response("describe_key_value_store", _describe("ETAG-9"), {"KvsARN": ARN})
        stub.add_response("put_key", {"ETag": "ETAG-10", "ItemCount": 4, "TotalSizeInBytes": 160},
                          {"KvsARN": ARN, "Key": LINK, "Value": "agency disabled", "IfMatch": "ETAG-9"})

        KeyValueStoreRevocations(client, ARN).revoke(LINK, "agency disabled")

        stub.assert_no_pending_responses()


def test_a_store_that_refuses_is_a_transient_error(client):
    with Stubber(client) as stub:
        stub.add_response("describe_key_value_store", _describe("ETAG-1"), {"KvsARN": ARN})
        stub.add_client_error("put_key", "AccessDeniedException", http_status_code=403)

        with pytest.raises(TransientError, match="not written"):
            KeyValueStoreRevocations(client, ARN).revoke(LINK, "revoked by the agency")


def test_reading_a_key_back(client):
    with Stubber(client) as stub:
        stub.add_response("get_key", {"Key": LINK, "Value": "revoked", "ItemCount": 1, "TotalSizeInBytes": 30},
                          {"KvsARN": ARN, "Key": LINK})
        stub.add_client_error("get_key", "ResourceNotFoundException", http_status_code=404)
        store = KeyValueStoreRevocations(client, ARN)

        assert store.get(LINK) == "revoked"
        assert store.get("vl-ffffffffffffffff") is None
