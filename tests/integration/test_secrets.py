"""Catalog secrets: provisioned once with a random value, read by logical name, failures as domain errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.secrets import load_secret, read_secret
from chalicelib.catalog import build_catalog
from chalicelib.errors import PermanentError, TransientError
from local.emulator import provision_secrets


def test_every_catalog_secret_is_provisioned_with_a_random_value(aws):
    # GIVEN the provisioned stage
    # THEN each catalog secret exists under its catalog name with 32 random bytes, hex-encoded
    for logical, spec in aws.catalog.secrets.items():
        assert spec.name == f"gt-{aws.settings.stage}-{logical}"
        assert re.fullmatch(r"[0-9a-f]{64}", aws.secret(logical))
    # AND another stage provisioned in the same account gets a key of its own
    other = build_catalog("other")
    provision_secrets(other, aws.client("secretsmanager"))
    reply = aws.client("secretsmanager").get_secret_value(SecretId=other.secret("deid-key"))
    assert reply["SecretString"] != aws.secret("deid-key")


def test_provisioning_twice_keeps_the_secret_value(aws):
    # GIVEN the stage's de-identification key
    before = aws.secret("deid-key")
    # WHEN the catalog is provisioned again (the local platform's next start)
    provision_secrets(aws.catalog, aws.client("secretsmanager"))
    # THEN the key is unchanged, with no new version: every UID derived from it stays the same
    assert aws.secret("deid-key") == before
    versions = aws.client("secretsmanager").list_secret_version_ids(SecretId=aws.catalog.secret("deid-key"))
    assert len(versions["Versions"]) == 1


def test_a_missing_catalog_secret_is_a_permanent_error_naming_it(aws):
    name = aws.catalog.secret("deid-key")
    aws.client("secretsmanager").delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    with pytest.raises(PermanentError, match=name):
        aws.secret("deid-key")


class _Failing:
    def __init__(self, code: str) -> None:
        self.code = code

    def get_secret_value(self, **_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": self.code, "Message": "injected"}}, "GetSecretValue")


@pytest.mark.parametrize(("code", "error"), [("ResourceNotFoundException", PermanentError),
                                             ("AccessDeniedException", PermanentError),
                                             ("ThrottlingException", TransientError),
                                             ("InternalServiceError", TransientError)])
def test_secrets_manager_failures_become_domain_errors(code: str, error: type[Exception]):
    with pytest.raises(error, match="gt-test-deid-key") as raised:
        read_secret(_Failing(code), "gt-test-deid-key")
    assert isinstance(raised.value.__cause__, ClientError)


def test_load_secret_reads_a_file_before_asking_secrets_manager(tmp_path):
    path = tmp_path / "key.pem"
    path.write_bytes(b"PEM")
    assert load_secret(str(path), _Failing("AccessDeniedException"), what="key", setting="KEY") == b"PEM"
    with pytest.raises(PermanentError, match=r"no key configured \(KEY\)"):
        load_secret("", what="key", setting="KEY")
    with pytest.raises(PermanentError, match="not a file"):
        load_secret("gt/test/absent", what="key", setting="KEY")
