"""A receiving agency's webhook on loopback (http.server in a thread), verifying signatures from the spec.

Written from the documented scheme, not from our signer: ``X-GT-Signature: v1=<hex>`` where hex is
HMAC-SHA256(secret, "<X-GT-Timestamp>." + raw body), timestamps within 300 s, de-duplicated on
``X-GT-Dispatch-Id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from webhook_contract_support import Delivery


@dataclass
class Receiver:
    secret: str
    up: bool = True
    received: list[dict[str, Any]] = field(default_factory=list)  # accepted, first copy of each dispatch
    posts: list[Delivery] = field(default_factory=list)  # every POST as it arrived (headers, raw body)
    duplicates: int = 0
    refused: int = 0  # down, or a bad signature
    bad_signatures: int = 0
    arrived_ms: dict[str, int] = field(default_factory=dict)  # wall clock, first arrival of each dispatch
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    tls: bool = False
    client_certificates: list[dict[str, Any]] = field(default_factory=list)  # the peer certificate of each POST
    on_receipt: Callable[[str], None] | None = None  # a fast agency: acts before answering the POST

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}/hooks/dispatch"

    def valid(self, headers: Any, body: bytes) -> bool:
        stamp, given = headers.get("X-GT-Timestamp", ""), headers.get("X-GT-Signature", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return False
        expected = "v1=" + hmac.new(self.secret.encode("utf-8"), stamp.encode("ascii") + b"." + body,
                                    hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, given)

    def handle(self, headers: Any, body: bytes) -> int:
        with self.lock:
            self.posts.append(Delivery(headers=dict(headers.items()), body=body))
            if not self.up:
                self.refused += 1
                return 503
            if not self.valid(headers, body):
                self.refused += 1
                self.bad_signatures += 1
                return 401
            dispatch_id = headers.get("X-GT-Dispatch-Id", "")
            if any(r["dispatch_id"] == dispatch_id for r in self.received):
                self.duplicates += 1
                return 200
            self.arrived_ms[dispatch_id] = time.time_ns() // 1_000_000
            self.received.append({"dispatch_id": dispatch_id, "round": headers.get("X-GT-Delivery-Round"),
                                  "body": json.loads(body)})
        if self.on_receipt is not None:
            self.on_receipt(dispatch_id)
        return 200


def start_receiver(secret: str = "", host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Receiver:
    """A running receiver; set ``secret`` to what registering its webhook answered. With ``tls``, it serves
    HTTPS with that server context (one requiring client certificates is a mutual-TLS receiver)."""
    receiver = Receiver(secret=secret, tls=tls is not None)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if isinstance(self.connection, ssl.SSLSocket):
                with receiver.lock:
                    receiver.client_certificates.append(self.connection.getpeercert() or {})
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.handle(self.headers, body)
            payload = json.dumps({"ok": status == 200}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    receiver.server = ThreadingHTTPServer((host, 0), Handler)
    if tls is not None:  # handshakes happen on accept; a refused one never reaches do_POST
        receiver.server.socket = tls.wrap_socket(receiver.server.socket, server_side=True)
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    return receiver


def sos_dispatches(resources: Any, wait_s: int = 0) -> list[dict[str, Any]]:
    """The SOS dispatches waiting on the agency-dispatch queue (consumed here: tests without the pump), each
    the payload the agency would receive."""
    from local.capture import drain

    return [json.loads(m["payload"]) for m in drain(resources, resources.queue("agency-dispatch").url, wait_s=wait_s)]


def dispatch_payloads(resources: Any, incident_id: str, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """The SOS dispatch recorded for ``incident_id`` (what its agency is sent), waiting up to the timeout: with
    the local platform's pump consuming the agency-dispatch queue, the record is what tests can read."""
    deadline = time.monotonic() + timeout_s
    while True:
        item = resources.table("records").get({"pk": f"DISPATCH#{incident_id}", "sk": "record"})
        if item is not None:
            return [{**json.loads(item["payload"]), "_queued_ms": int(item["queued_ms"])}]
        if time.monotonic() >= deadline:
            return []
        time.sleep(0.05)


def sqs_records(aws: Any, queue: str) -> list[dict[str, Any]]:
    """What SQS hands a consumer of ``queue`` now, in the Lambda event shape of AWS's documented sample
    (events/sqs/plain_message.json) with the real message ids, receipt handles, receive counts and queue ARN."""
    import copy

    from conftest import load_event

    sqs, url = aws.client("sqs"), aws.queue(queue).url
    template = load_event("sqs/plain_message.json")["Records"][0]
    records = []
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", []):
        record = copy.deepcopy(template)
        record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"], body=message["Body"])
        record["attributes"]["ApproximateReceiveCount"] = message["Attributes"]["ApproximateReceiveCount"]
        record["eventSourceARN"] = f"arn:aws:sqs:ap-northeast-2:123456789012:{url.rsplit('/', 1)[1]}"
        records.append(record)
    return records
