"""The moto server the emulator runs, with DynamoDB requests serialised.

moto's DynamoDB evaluates a ConditionExpression and then writes, without a lock, so two
concurrent conditional writes can both succeed — real DynamoDB never allows that, and exactly-once
state transitions (SOS escalation, study completion) depend on it. One lock around DynamoDB
requests restores the guarantee; other services (SQS long polls above all) stay concurrent.
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

from local import s3_notifications
from local.s3_post_policy import PostPolicyGate

StartResponse = Callable[..., Any]


class SerialDynamoDB:
    """WSGI middleware: one DynamoDB request at a time, the response fully produced under the lock."""

    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            with self._lock:
                return list(self._app(environ, start_response))
        return self._app(environ, start_response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    s3_notifications.install()  # notifications with versionId, sequencer and the rest S3 sends
    app = PostPolicyGate(SerialDynamoDB(DomainDispatcherApplication(create_backend_app)))  # POST policies as S3
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()
