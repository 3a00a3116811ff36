"""Mutual TLS to an agency's webhook: a receiver on loopback whose OpenSSL server requires a client certificate
from the platform's authority and serves a certificate from the agency's own private authority (as a GPKI
gateway would), reached through the real agency-dispatch Lambda handler."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from agency_support import Receiver, sqs_records, start_receiver
from tls_support import authority, issue, server_context

from chalicelib.adapters.resources import Resources
from chalicelib.errors import PermanentError, TransientError
from chalicelib.models.common import Location
from chalicelib.models.dispatch import AgencyTarget, DeliveryStatus
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.sos import SosRequest
from chalicelib.settings import get_settings
from chalicelib.wiring.dispatch import agency_webhook_client
from chalicelib.wiring.saferet import build_safe_return
from functions.agency_dispatch import handler as delivery
from local.lambda_runtime import LambdaContext as RuntimeContext

CERTIFICATE_SECRET = "gt/test/agency-client-certificate"
GWANGHWAMUN = (37.5759, 126.9768)
LambdaContext = partial(RuntimeContext, function_name="gt-test-agency-dispatch", memory_limit_in_mb=256)


class Pki:
    def __init__(self) -> None:
        self.agency_ca = authority("Korean National Police Agency private CA")
        self.platform_ca = authority("Golden Time platform CA")
        self.server = issue(self.agency_ca, "112 dispatch gateway", server_ip="127.0.0.1")
        self.platform = issue(self.platform_ca, "golden-time agency delivery")


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


@pytest.fixture
def gateway(pki, tmp_path) -> Iterator[Receiver]:
    """112's gateway: HTTPS with the agency's certificate, refusing any client without one from the platform CA."""
    receiver = start_receiver(tls=server_context(pki.server, client_ca=pki.platform_ca, tmp_dir=str(tmp_path)))
    yield receiver
    assert receiver.server is not None
    receiver.server.shutdown()


def _configure(monkeypatch: pytest.MonkeyPatch, certificate_secret: str | None) -> None:
    if certificate_secret is None:
        monkeypatch.delenv("AGENCY_CLIENT_CERTIFICATE_SECRET", raising=False)
    else:
        monkeypatch.setenv("AGENCY_CLIENT_CERTIFICATE_SECRET", certificate_secret)
    get_settings.cache_clear()
    delivery.runtime.cache_clear()


def _dispatch(aws: Any, gateway: Receiver, incident_id: str, *, server_ca: str | None) -> tuple[Any, dict[str, Any]]:
    """Register 112's webhook (pinning ``server_ca``), raise a crime SOS and run the consumer on its dispatch."""
    services = build_safe_return(aws)
    aws.client("sqs").purge_queue(QueueUrl=aws.queue("agency-dispatch").url)
    gateway.secret = services.agencies.register(AgencyTarget.POLICE, gateway.url, principal_id="police-112",
                                                server_ca=server_ca).secret
    request = SosRequest(location=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1]), kind="crime", cancel_window_s=0)  # type: ignore[arg-type]
    services.sos.create("app-alice", incident_id, request, time.time_ns() // 1_000_000)
    records = sqs_records(aws, "agency-dispatch")
    assert len(records) == 1
    result: dict[str, Any] = delivery.lambda_handler({"Records": records}, LambdaContext())
    return services.agencies.get(incident_id), result


def _store_certificate(aws: Any, pem: str) -> None:
    aws.client("secretsmanager").create_secret(Name=CERTIFICATE_SECRET, SecretString=pem)


def test_the_dispatch_reaches_a_mutual_tls_gateway_presenting_the_platform_certificate(aws, pki, gateway, monkeypatch):
    # GIVEN the platform's client certificate and key in Secrets Manager, named by the deployment
    _store_certificate(aws, pki.platform.bundle_pem)
    _configure(monkeypatch, CERTIFICATE_SECRET)
    # WHEN a dispatch goes to 112's gateway, whose private CA was pinned at registration
    record, result = _dispatch(aws, gateway, "inc-00000000000m7101", server_ca=pki.agency_ca.certificate_pem)
    # THEN it was delivered, signed, over a connection where the gateway saw the platform's certificate
    assert result == {"batchItemFailures": []}
    assert record.status is DeliveryStatus.DELIVERED and record.last_error is None
    assert [r["dispatch_id"] for r in gateway.received] == ["inc-00000000000m7101"] and gateway.bad_signatures == 0
    [peer] = gateway.client_certificates
    assert dict(name for rdn in peer["subject"] for name in rdn)["commonName"] == "golden-time agency delivery"
    assert dict(name for rdn in peer["issuer"] for name in rdn)["commonName"] == "Golden Time platform CA"


def test_without_a_client_certificate_the_gateway_refuses_and_the_dispatch_is_retried(aws, pki, gateway, monkeypatch):
    # GIVEN a deployment that names no client certificate
    _configure(monkeypatch, None)
    # WHEN a dispatch goes to the gateway that requires one
    record, result = _dispatch(aws, gateway, "inc-00000000000m7102", server_ca=pki.agency_ca.certificate_pem)
    # THEN the handshake is refused: nothing reached the agency, the message is failed for a retry, and the
    # record says why
    assert len(result["batchItemFailures"]) == 1
    assert gateway.received == [] and gateway.client_certificates == []
    assert record.status is DeliveryStatus.QUEUED and record.attempts == 1
    assert record.last_error and "unreachable" in record.last_error


@pytest.mark.parametrize("pinned", ["system CAs", "another authority"])
def test_a_gateway_certificate_outside_the_pinned_authority_is_not_trusted(aws, pki, gateway, monkeypatch, pinned):
    # GIVEN the platform's certificate configured, but 112's registration trusting the system CAs, or an
    # authority that did not issue the gateway's certificate
    _store_certificate(aws, pki.platform.bundle_pem)
    _configure(monkeypatch, CERTIFICATE_SECRET)
    server_ca = None if pinned == "system CAs" else authority("Some other CA").certificate_pem
    # WHEN the dispatch is delivered
    record, result = _dispatch(aws, gateway, "inc-00000000000m7103", server_ca=server_ca)
    # THEN the platform refuses the gateway's certificate before sending a byte of the dispatch
    assert len(result["batchItemFailures"]) == 1
    assert gateway.received == [] and record.status is DeliveryStatus.QUEUED
    assert record.last_error and "CERTIFICATE_VERIFY_FAILED" in record.last_error


@pytest.mark.parametrize("bundle", ["certificate only", "encrypted key"])
def test_an_unusable_client_certificate_is_a_configuration_error_not_a_prompt(aws, pki, gateway, monkeypatch, bundle):
    # GIVEN a secret holding the certificate without its key, or with a passphrase-protected key
    pem = (pki.platform.certificate_pem if bundle == "certificate only"
           else pki.platform.certificate_pem + pki.platform.key_pem(password=b"passphrase"))
    _store_certificate(aws, pem)
    _configure(monkeypatch, CERTIFICATE_SECRET)
    # WHEN a dispatch is delivered THEN the message fails (kept for a retry once fixed) without prompting on a
    # terminal or reaching the agency
    record, result = _dispatch(aws, gateway, "inc-00000000000m7104", server_ca=pki.agency_ca.certificate_pem)
    assert len(result["batchItemFailures"]) == 1
    assert gateway.received == [] and gateway.client_certificates == [] and record.status is DeliveryStatus.QUEUED
    # AND the reason is the certificate, as the deployment's client reports it
    client = agency_webhook_client(Resources(get_settings()))
    with pytest.raises(PermanentError, match="certificate chain with its unencrypted private key"):
        client.post(gateway.url, b"{}", {}, timeout_s=2, server_ca=pki.agency_ca.certificate_pem)


def test_a_server_ca_that_is_not_a_certificate_is_refused_at_registration(aws):
    from chalicelib.adapters.webhook import tls_context

    with pytest.raises(PermanentError, match="not usable PEM"):
        tls_context("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    with pytest.raises(ValueError, match="server_ca"):
        build_safe_return(aws).agencies.register(AgencyTarget.POLICE, "https://112.example/hook",
                                                 principal_id="police-112", server_ca="a password, not a PEM")




def test_the_admin_pins_an_agency_ca_with_the_cli_and_a_rotation_keeps_it(aws, pki, tmp_path, capsys):
    from chalicelib import cli

    # GIVEN police 112's principal, and its private CA as the agency hands it over
    cli.create_principal(PrincipalKind.AGENCY, "Seoul police 112", principal_id="police-112", cidrs=["127.0.0.2/32"],
                         resources=aws)
    (tmp_path / "ca.pem").write_text(pki.agency_ca.certificate_pem)
    (tmp_path / "key.pem").write_text(pki.platform.key_pem())
    base = ["agency", "webhook", "--target", "112", "--principal", "police-112", "--url", "https://112.example/gt"]
    # WHEN the admin registers the webhook with something that is no CA certificate, or with no file at all
    # THEN it is refused with the reason, and nothing is registered
    assert cli.main([*base, "--server-ca", str(tmp_path / "key.pem")]) == 1
    assert cli.main([*base, "--server-ca", str(tmp_path / "missing.pem")]) == 1
    assert capsys.readouterr().err.count("refused: ") == 2
    agencies = build_safe_return(aws).agencies
    assert agencies.endpoint(AgencyTarget.POLICE) is None
    # WHEN registered with the CA THEN the webhook trusts it, the listing says so, and rotating keeps it
    assert cli.main([*base, "--server-ca", str(tmp_path / "ca.pem")]) == 0
    assert cli.main(["agency", "rotate", "--target", "112"]) == 0
    endpoint = agencies.endpoint(AgencyTarget.POLICE)
    assert endpoint is not None and endpoint.key_version == 2
    assert endpoint.server_ca == pki.agency_ca.certificate_pem
    capsys.readouterr()
    assert cli.main(["agency", "list"]) == 0
    assert "server_ca=pinned" in next(line for line in capsys.readouterr().out.splitlines() if line.startswith("112"))


def test_the_client_certificate_is_read_once_for_every_pinned_authority(pki: Pki, gateway: Receiver):
    from chalicelib.adapters.webhook import HttpWebhookClient

    # GIVEN a client whose certificate source counts its reads
    reads: list[int] = []

    def certificate() -> bytes:
        reads.append(1)
        return pki.platform.bundle_pem.encode()

    client = HttpWebhookClient(client_certificate=certificate, allow_private=True)
    # WHEN it posts under two pinned authorities (the gateway's, and one that refuses it) and again
    assert client.post(gateway.url, b"{}", {}, timeout_s=5, server_ca=pki.agency_ca.certificate_pem) == 401
    with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
        client.post(gateway.url, b"{}", {}, timeout_s=5, server_ca=authority("Another CA").certificate_pem)
    assert client.post(gateway.url, b"{}", {}, timeout_s=5, server_ca=pki.agency_ca.certificate_pem) == 401
    # THEN the certificate (a Secrets Manager read in the cloud) was read once, and presented each time it reached
    # the gateway (which refused the unsigned body, 401)
    assert len(reads) == 1 and len(gateway.client_certificates) == 2
