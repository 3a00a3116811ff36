"""Admin CLI: health centers' webhooks.

    python -m chalicelib.cli xray-webhooks replay --dlq [--center hc-mapo]   # dead-lettered notices, sent again
    python -m chalicelib.cli xray-webhooks replay --study xr-0123456789abcdef  # one outcome again (same delivery id)
    python -m chalicelib.cli xray-webhooks show --center hc-mapo
"""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import ValidationError

from chalicelib.adapters.resources import Resources
from chalicelib.models.xray import StudyNotice, StudyStatus
from chalicelib.services.audit import AuditLog
from chalicelib.services.xray.studies import XrayStudies
from chalicelib.settings import get_settings

QUEUE = "center-webhooks"
REPLAY_ATTRIBUTE = "replay"  # the consumer sends a replayed outcome even if it was delivered before


def register(sub: Any) -> None:
    hooks = sub.add_parser("xray-webhooks", help="health centers' signed webhooks: replay failed or chosen deliveries")
    hooks.add_argument("action", choices=["replay", "show"])
    hooks.add_argument("--dlq", action="store_true", help="replay: move the dead-lettered notices back to the queue")
    hooks.add_argument("--center", help="replay --dlq: only this center's; show: the center")
    hooks.add_argument("--study", help="replay: send this study's outcome again")
    hooks.set_defaults(run=_cmd_webhooks)


def replay_dead_letters(resources: Resources, center: str | None = None) -> int:
    """Move the DLQ's notices (this center's, or all) back to the queue; returns how many moved. Those that were
    delivered meanwhile are skipped by the consumer's ledger, so a replay never sends an outcome twice."""
    sqs = resources.client("sqs")
    spec = resources.catalog.queue(QUEUE)
    queue = resources.queue(QUEUE)
    dlq = sqs.get_queue_url(QueueName=spec.dlq_name)["QueueUrl"]
    moved = 0
    kept: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                       WaitTimeSeconds=0).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in kept]
        if not fresh:
            return moved
        for message in fresh:
            try:
                notice = StudyNotice.model_validate_json(message["Body"])
            except ValidationError:
                notice = None
            if notice is not None and center is not None and notice.center_id != center:
                kept.append(message["MessageId"])  # another center's: left in the DLQ
                continue
            queue.send(message["Body"], attributes={"center_id": notice.center_id} if notice else None)
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def replay_study(resources: Resources, study_id: str) -> StudyNotice:
    """Queue the study's outcome again, marked as a replay (sent even if it was delivered)."""
    study = XrayStudies(resources.table("records"), resources.store("xray")).get(study_id)
    if study.status is StudyStatus.PENDING:
        raise SystemExit(f"study {study_id} is still pending: there is no outcome to send")
    notice = StudyNotice(study_id=study.study_id, center_id=study.center_id, status=study.status,
                         triage=study.reading.triage if study.reading else None,
                         reason_code=study.reason.code if study.reason else None)
    resources.queue(QUEUE).send(notice.model_dump_json(), attributes={"center_id": study.center_id,
                                                                      REPLAY_ATTRIBUTE: "1"})
    return notice


def _cmd_webhooks(args: argparse.Namespace) -> int:
    resources = Resources(get_settings())
    audit = AuditLog(resources.table("audit"))
    if args.action == "show":
        if not args.center:
            raise SystemExit("xray-webhooks show needs --center")
        item = resources.table("records").get({"pk": f"WEBHOOK#{args.center}", "sk": "subscription"})
        print(f"{args.center}: " + (f"{item['url']} (key version {item['key_version']})" if item else "(no webhook)"))
        return 0
    if args.dlq == bool(args.study):
        raise SystemExit("xray-webhooks replay needs exactly one of --dlq or --study")
    if args.dlq:
        moved = replay_dead_letters(resources, args.center)
        audit.append("webhook.replayed", actor="admin-cli", details={"dead_letters": moved, "center": args.center})
        print(f"{moved} dead-lettered notice(s) queued again")
        return 0
    notice = replay_study(resources, args.study)
    audit.append("webhook.replayed", actor="admin-cli", subject=notice.study_id, details={"status": notice.status.value})
    print(f"{notice.study_id} ({notice.status.value}) queued again for {notice.center_id}")
    return 0
