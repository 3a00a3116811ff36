"""Admin CLI commands of the last mile: agency webhooks and the SMS outbox.

    python -m chalicelib.cli agency webhook --target 112 --principal police-112 --url https://... [--locale en]
                                            [--server-ca agency-ca.pem]
    python -m chalicelib.cli agency rotate --target 112
    python -m chalicelib.cli agency list

A webhook's signing secret is derived, never stored: it is printed once when the webhook is set or rotated.
    python -m chalicelib.cli sms outbox [--limit 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chalicelib.adapters.resources import Resources
from chalicelib.adapters.sms import TableSmsOutbox
from chalicelib.adapters.webhook import tls_context
from chalicelib.errors import PermanentError
from chalicelib.models.dispatch import AgencySecretIssued, AgencyTarget
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.audit import AuditLog
from chalicelib.services.principals import PrincipalDirectory
from chalicelib.services.texts import kst
from chalicelib.settings import get_settings
from chalicelib.wiring.dispatch import build_agency_dispatch


def register(sub: Any) -> None:
    agency = sub.add_parser("agency", help="the receiving agencies' webhooks (112, 119, disaster-room)")
    agency.add_argument("action", choices=["webhook", "rotate", "list"])
    agency.add_argument("--target", choices=[t.value for t in AgencyTarget])
    agency.add_argument("--principal", help="the agency principal allowed to acknowledge its dispatches")
    agency.add_argument("--url", help="the agency's HTTPS webhook")
    agency.add_argument("--locale", choices=["ko", "en"], default="ko")
    agency.add_argument("--server-ca", type=Path, help="PEM of the CAs the agency's server certificate must chain "
                        "to, where it runs a private PKI (GPKI); default: the system's public CAs")
    agency.set_defaults(run=_cmd_agency)
    sms = sub.add_parser("sms", help="guardian text messages")
    sms.add_argument("action", choices=["outbox"])
    sms.add_argument("--limit", type=int, default=20)
    sms.add_argument("--json", action="store_true")
    sms.set_defaults(run=_cmd_sms)


def _cmd_agency(args: argparse.Namespace) -> int:
    resources = Resources(get_settings())
    agencies = build_agency_dispatch(resources)
    if args.action == "list":
        for target in AgencyTarget:
            endpoint = agencies.endpoint(target)
            print(f"{target.value:14} " + (f"{endpoint.url}  principal={endpoint.principal_id}  "
                                           f"locale={endpoint.locale}  key_version={endpoint.key_version}"
                                           + ("  server_ca=pinned" if endpoint.server_ca else "")
                                           if endpoint else "(no webhook)"))
        return 0
    audit = AuditLog(resources.table("audit"))
    if args.action == "rotate":
        if not args.target:
            raise SystemExit("agency rotate needs --target")
        issued = agencies.rotate(AgencyTarget(args.target))
        audit.append("agency.webhook.rotated", actor="admin-cli", subject=args.target,
                     details={"key_version": issued.key_version})
        return _show(issued)
    if not (args.target and args.principal and args.url):
        raise SystemExit("agency webhook needs --target, --principal and --url")
    principal = PrincipalDirectory(resources.table("principals")).get(args.principal)
    if principal is None or principal.kind is not PrincipalKind.AGENCY:
        raise SystemExit(f"{args.principal} is no agency principal")
    try:
        server_ca = args.server_ca.read_text() if args.server_ca else None
        if server_ca is not None:
            tls_context(server_ca)  # refuse what could never verify the agency's server, now, not at delivery
        issued = agencies.register(AgencyTarget(args.target), args.url, principal_id=args.principal,
                                   locale=args.locale, cidr=principal.cidrs[0] if principal.cidrs else None,
                                   server_ca=server_ca)
    except (OSError, UnicodeDecodeError, PermanentError, ValidationError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    audit.append("agency.webhook.set", actor="admin-cli", subject=args.target,
                 details={"url": args.url, "principal": args.principal, "key_version": issued.key_version,
                          "server_ca_pinned": server_ca is not None})
    return _show(issued)


def _show(issued: AgencySecretIssued) -> int:
    print(f"webhook for {issued.target.value} set (key version {issued.key_version}); signing secret "
          f"(shown once, give it to the agency): {issued.secret}")
    print(f"verify: {issued.signature}")
    return 0


def _cmd_sms(args: argparse.Namespace) -> int:
    outbox = TableSmsOutbox(Resources(get_settings()).table("records"))
    for entry in outbox.recent(limit=args.limit):
        if args.json:
            print(json.dumps(entry.model_dump(mode="json"), ensure_ascii=False))
        else:
            print(f"{kst(entry.created_ms, 'en')}  {entry.phone}  [{entry.kind}]  {entry.text}")
    return 0
