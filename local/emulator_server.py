"""The moto server the emulator runs: each service's writes serialised and journaled, its state
checkpointed under ``--state-dir`` (see ``local.emulator_state``), tied to the life of its parent.

moto's DynamoDB evaluates a ConditionExpression and then writes, without a lock, so two
concurrent conditional writes can both succeed — real DynamoDB never allows that, and exactly-once
state transitions (SOS escalation, study completion) depend on it. One lock around DynamoDB
requests restores the guarantee; other services (SQS long polls above all) stay concurrent.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

from local import s3_notifications
from local.emulator_state import PersistentState, StateStore
from local.lifecycle import die_with_parent
from local.s3_post_policy import PostPolicyGate

logger = logging.getLogger(__name__)


def lock_state_dir(state_dir: Path) -> int:
    """One emulator per state directory: a second one would overwrite the first one's state."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / "emulator.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another emulator is using {state_dir} (pid {Path(state_dir / 'emulator.pid').read_text().strip()})")
    (state_dir / "emulator.pid").write_text(str(os.getpid()))
    return fd


class KeepAliveHandler(WSGIRequestHandler):
    """moto's own server (werkzeug, a thread per connection), with HTTP/1.1 keep-alive so botocore's
    pooled connections are reused, and no Nagle delay between the small writes of a response."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _stop(*_: Any) -> NoReturn:
    raise KeyboardInterrupt  # leave the server loop; the final checkpoint runs on the way out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--state-dir", type=Path, required=True, help="checkpoints and journal live here")
    parser.add_argument("--parent-pid", type=int, help="exit when this process dies")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request costs the hot paths
    if args.parent_pid:
        die_with_parent(args.parent_pid)
    lock_state_dir(args.state_dir)
    signal.signal(signal.SIGTERM, _stop)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    s3_notifications.install()  # notifications with versionId, sequencer and the rest S3 sends
    state = PersistentState(DomainDispatcherApplication(create_backend_app), StateStore(args.state_dir))
    replayed = state.replay(state.store.load())
    state.checkpoint(everything=True)
    logger.info("state restored from %s (generation %d, %d journaled writes replayed)", args.state_dir,
                state.store.generation, replayed)
    state.start_checkpoints()
    # A thread per connection, as moto_server: a request is parsed, run and answered on one thread. (A
    # shared I/O loop handing requests to a pool, as waitress does, doubled the latency under
    # concurrent callers.) This server is only ever reached by the platform's own AWS clients.
    server = make_server(args.host, args.port, PostPolicyGate(state), threaded=True,  # POST policies checked as S3
                         request_handler=KeepAliveHandler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        state.stop()
        logger.info("state checkpointed (generation %d)", state.store.generation)


if __name__ == "__main__":
    main()
