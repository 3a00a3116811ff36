"""Principals, owner-scoped records and the audit log on their real tables (moto)."""

from __future__ import annotations

import pytest

from chalicelib.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.audit import AuditLog
from chalicelib.services.owned import OwnedRecords
from chalicelib.services.principals import PrincipalDirectory


def test_token_authenticates_only_its_principal(aws):
    directory = PrincipalDirectory(aws.table("principals"))
    principal, token = directory.create(PrincipalKind.AGENCY, "Police 112", principal_id="police-1",
                                        cidrs=["10.20.0.0/16", "2001:db8::/48"])
    assert directory.authenticate(f"Bearer {token}").principal_id == "police-1"
    assert principal.allows_address("10.20.3.4")
    assert principal.allows_address("2001:db8::7")
    assert not principal.allows_address("10.21.0.1")
    assert not principal.allows_address("not-an-ip")
    # the stored record never holds the token itself
    assert token not in str(aws.table("principals").get({"principal_id": "police-1"}))


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer gt.police-1.short",
                                    "Bearer gt.police-1.wrong-secret-but-long-enough",
                                    "Bearer gt.nobody.xxxxxxxxxxxxxxxxxxxxxxxx"])
def test_bad_credentials_are_unauthorized(aws, header):
    directory = PrincipalDirectory(aws.table("principals"))
    directory.create(PrincipalKind.AGENCY, "Police 112", principal_id="police-1", cidrs=["10.20.0.0/16"])
    with pytest.raises(Unauthorized):
        directory.authenticate(header)


def test_rotation_invalidates_the_old_token(aws):
    directory = PrincipalDirectory(aws.table("principals"), cache_seconds=0)
    _, old = directory.create(PrincipalKind.OPERATOR, "Operator", principal_id="op-1")
    new = directory.rotate("op-1")
    assert directory.authenticate(f"Bearer {new}").principal_id == "op-1"
    with pytest.raises(Unauthorized):
        directory.authenticate(f"Bearer {old}")


def test_duplicate_and_invalid_principals_are_refused(aws):
    directory = PrincipalDirectory(aws.table("principals"))
    directory.create(PrincipalKind.APP, "Phone", principal_id="app-1")
    with pytest.raises(ValidationFailed, match="already exists"):
        directory.create(PrincipalKind.APP, "Phone", principal_id="app-1")
    with pytest.raises(ValidationFailed):
        directory.create(PrincipalKind.AGENCY, "Bad range", cidrs=["10.0.0.0/99"])


@pytest.mark.parametrize(("cidrs", "code"), [
    ((), "agency_without_cidr"),
    (("10.0.0.0/15",), "agency_cidr_too_wide"),
    (("10.20.0.0/16", "0.0.0.0/0"), "agency_cidr_too_wide"),
    (("2001:db8::/47",), "agency_cidr_too_wide"),
])
def test_an_agency_must_be_bound_to_narrow_ranges(aws, cidrs, code):
    directory = PrincipalDirectory(aws.table("principals"))
    with pytest.raises(ValidationFailed) as refused:
        directory.create(PrincipalKind.AGENCY, "Unbound", principal_id="police-9", cidrs=cidrs)

    assert refused.value.code == code
    assert directory.get("police-9") is None
    agency, _ = directory.create(PrincipalKind.AGENCY, "Bound", principal_id="police-8",
                                 cidrs=["10.20.0.0/16", "2001:db8:1::/48"])
    assert agency.cidrs == ("10.20.0.0/16", "2001:db8:1::/48")
    assert directory.create(PrincipalKind.APP, "Phone", principal_id="app-9")[0].cidrs == ()  # apps are not bound


def test_another_owner_reads_a_record_as_missing(aws):
    devices = OwnedRecords(aws.table("records"), "DEVICE")
    devices.create("d-1", "app-alice", {"platform": "ios"}, created_ms=1)
    assert devices.get("d-1", "app-alice")["platform"] == "ios"
    with pytest.raises(NotFound):
        devices.get("d-1", "app-bob")
    with pytest.raises(NotFound):
        devices.get("d-404", "app-alice")
    with pytest.raises(Conflict):
        devices.create("d-1", "app-bob", {}, created_ms=2)
    assert [d["platform"] for d in devices.owned_by("app-alice")] == ["ios"]
    assert devices.owned_by("app-bob") == []


def test_audit_log_is_append_only_and_ordered(aws):
    clock = iter([1_700_000_000.0, 1_700_000_000.0, 1_700_000_001.0])
    log = AuditLog(aws.table("audit"), clock=lambda: next(clock))
    first = log.append("video-link.issued", actor="police-1", source_ip="10.20.0.1", subject="inc-1")
    second = log.append("video-link.denied", actor="police-1", result="denied", source_ip="10.99.0.1")
    third = log.append("video-link.revoked", actor="police-1", result="revoked")
    assert first.record_id != second.record_id
    records = list(log.records(since_ms=1_699_999_000_000, until_ms=1_700_000_002_000))
    # two records in the same millisecond are both kept (neither overwrites the other); time orders the rest
    assert {r.action for r in records[:2]} == {"video-link.issued", "video-link.denied"}
    assert records[2].record_id == third.record_id
    assert next(r for r in records if r.record_id == second.record_id).result == "denied"
