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
import io
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

from local import emulator_serializer, s3_notifications
from local.emulator_state import PersistentState, StateStore
from local.lifecycle import die_with_parent
from local.s3_post_policy import PostPolicyGate

logger = logging.getLogger(__name__)
_access_log = logging.getLogger("werkzeug")


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


class Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering the backend of each host: moto finds it by listing its ~200 module
    directories on disk (``list_of_moto_modules``) and matching URL patterns, on every request, under
    one lock."""

    def __init__(self) -> None:
        super().__init__(_backend_app)
        self._backends: dict[str, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host is None:
            return None
        if host not in self._backends:  # called under the dispatcher's lock
            self._backends[host] = super().get_backend_for_host(host)
        return self._backends[host]


def _backend_app(service: Any) -> Any:
    """moto's Flask app for one service, out of debug mode: in debug mode Flask builds a new class for every
    request whose body it parses, to explain form errors nobody reads here."""
    app = create_backend_app(service)
    app.debug = False
    return app


class KeepAliveHandler(WSGIRequestHandler):
    """moto's own server (werkzeug, a thread per connection) with HTTP/1.1 keep-alive, so botocore's
    pooled connections are reused, and no Nagle delay between the small writes of a response.

    werkzeug's ``run_wsgi`` answers every request with ``Connection: close`` (and then drains the socket
    for 10 ms, which on a kept connection would swallow the next request): every AWS call paid a new
    TCP connection and a new server thread. Here the request body is read exactly (by its length or
    its chunks) before the app runs, and the answer goes out whole with its ``Content-Length``, so the
    next request on the connection starts where this one ended."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:  # http.server has already answered any ``Expect: 100-continue``
        environ = self.make_environ()
        try:
            body = _request_body(environ)
        except (OSError, ValueError):
            self.close_connection = True
            self._answer(400, "Bad Request", [], b"", head=False)
            return
        environ["wsgi.input"] = io.BytesIO(body)
        answer: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info is not None and answer:
                raise exc_info[1].with_traceback(exc_info[2])
            answer[:] = [status, headers]
            return chunks.append

        chunks: list[bytes] = []
        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            logger.exception("%s %s failed", self.command, self.path)
            self.close_connection = True
            self._answer(500, "Internal Server Error", [], b"", head=False)
            return
        code, _, reason = str(answer[0]).partition(" ")
        self._answer(int(code), reason, answer[1], b"".join(chunks), head=self.command == "HEAD")

    def _answer(self, code: int, reason: str, headers: list[tuple[str, str]], payload: bytes, *,
                head: bool) -> None:
        self.send_response(code, reason)
        no_body = head or code < 200 or code in (204, 304)  # these keep the app's own Content-Length
        for name, value in headers:
            if name.lower() in _HOP_BY_HOP or (name.lower() == "content-length" and not no_body):
                continue
            self.send_header(name, value)
        if not no_body:
            self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")  # end_headers, with the body in the same write
        if not no_body:
            self._headers_buffer.append(payload)
        self.flush_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if _access_log.isEnabledFor(logging.INFO):  # werkzeug formats the line before its logger drops it
            super().log_request(code, size)


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding"}


def _request_body(environ: dict[str, Any]) -> bytes:
    """The whole body, read exactly: the next request on the connection follows it."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):  # chunked: werkzeug's reader stops at the last chunk
        return bytes(stream.read())
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length < 0:
        raise ValueError("negative Content-Length")
    body = stream.read(length) if length else b""
    if len(body) != length:
        raise OSError("the request body ended early")
    return bytes(body)


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
    emulator_serializer.install()  # DynamoDB items answered without a walk through the shape model
    state = PersistentState(Dispatcher(), StateStore(args.state_dir))
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
