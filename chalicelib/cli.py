"""Admin CLI: principals and their credentials, camera catalogs, footage, the audit log, video models.

Runs against whatever the settings point at (the local emulator via AWS_ENDPOINT_URL, or the cloud):

    python -m chalicelib.cli principal create --kind agency --name "Seoul Police 112" --cidr 10.20.0.0/16
    python -m chalicelib.cli principal list
    python -m chalicelib.cli principal disable|enable|rotate|delete --id app-1a2b3c4d [--expires-in 86400]
    python -m chalicelib.cli cameras load --file cameras.json   (synthetic Seoul: make seed-cameras COUNT=100000)
    python -m chalicelib.cli cameras nearest --lat 37.5665 --lon 126.9780
    python -m chalicelib.cli footage ingest --camera SEL-JN-000001 --video vtest.avi --start 2026-11-22T09:00:00Z
    python -m chalicelib.cli audit show --hours 24 [--json]
    python -m chalicelib.cli models register-video [--dir ../shared/models]
    python -m chalicelib.cli models list | activate NAME VERSION [--role xray] | rollback ROLE
    python -m chalicelib.cli models register --model model.onnx --manifest manifest.json [--activate]
    python -m chalicelib.cli models schema
    python -m chalicelib.cli models register-reference   # the X-ray reference model (a deploy step)
    python -m chalicelib.cli agency webhook|list …, sms outbox (see chalicelib/cli_agency.py)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError
from pydantic import ValidationError

from chalicelib.adapters.resources import Resources
from chalicelib.cli_agency import register as register_last_mile
from chalicelib.cli_webhooks import register as register_center_webhooks
from chalicelib.clock import now_ms
from chalicelib.errors import PermanentError, ValidationFailed
from chalicelib.inference.classifier import Classifier
from chalicelib.inference.manifest import ModelManifest, manifest_schema
from chalicelib.inference.reference_model import TASK as XRAY_TASK
from chalicelib.inference.registry import ManifestRegistry
from chalicelib.models.camera import Camera
from chalicelib.models.principal import PrincipalKind
from chalicelib.ports import ObjectStore
from chalicelib.services.audit import AuditLog
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.principals import PrincipalDirectory
from chalicelib.settings import get_settings
from chalicelib.wiring.cameras import build_camera_registry

XRAY_MODEL_ACTIONS = ("register", "schema", "register-reference")


def _resources() -> Resources:
    return Resources(get_settings())


def _registry(resources: Resources) -> CameraRegistry:
    return build_camera_registry(resources)


def create_principal(kind: PrincipalKind, name: str, *, principal_id: str | None = None,
                     cidrs: Sequence[str] = (), attributes: dict[str, str] | None = None,
                     resources: Resources | None = None, expires_ms: int | None = None) -> tuple[str, str]:
    """Register a principal and audit it; returns (principal_id, token)."""
    res = resources or _resources()
    principal, token = PrincipalDirectory(res.table("principals")).create(
        kind, name, principal_id=principal_id, cidrs=cidrs, attributes=attributes, expires_ms=expires_ms)
    AuditLog(res.table("audit")).append("principal.created", actor="admin-cli", subject=principal.principal_id,
                                        details={"kind": kind.value, "cidrs": list(principal.cidrs)})
    return principal.principal_id, token


def _expiry_ms(expires_in: int | None) -> int | None:
    return None if expires_in is None else int((time.time() + expires_in) * 1000)


def _cmd_principal(args: argparse.Namespace) -> int:
    if args.action in CREDENTIAL_ACTIONS:
        return _cmd_credentials(args)
    if args.action == "create":
        attributes = dict(a.split("=", 1) for a in args.attribute or [])
        pid, token = create_principal(PrincipalKind(args.kind), args.name, principal_id=args.id,
                                      cidrs=args.cidr or [], attributes=attributes,
                                      expires_ms=_expiry_ms(args.expires_in))
        print(json.dumps({"principal_id": pid, "token": token}))
        return 0
    directory = PrincipalDirectory(_resources().table("principals"))
    for p in directory.all():
        state = "disabled" if p.disabled else "expired" if p.expired(now_ms()) else "active"
        print(f"{p.principal_id:32} {p.kind.value:14} {p.name:32} {','.join(p.cidrs) or '-'} {state}")
    return 0


CREDENTIAL_ACTIONS = ("disable", "enable", "rotate", "delete")


def _cmd_credentials(args: argparse.Namespace) -> int:
    """Take a credential away (or give it back); every API process refuses it within a second."""
    res = _resources()
    directory = PrincipalDirectory(res.table("principals"))
    principal = directory.get(args.id)
    try:
        if args.action == "rotate":
            token = directory.rotate(args.id, expires_ms=_expiry_ms(args.expires_in))
            print(json.dumps({"principal_id": args.id, "token": token}))
        elif args.action == "delete":
            directory.delete(args.id)
        else:
            getattr(directory, args.action)(args.id)
    except ValidationFailed as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    AuditLog(res.table("audit")).append(f"principal.{args.action.removesuffix('e')}ed",
                                        actor="admin-cli", subject=args.id)
    if principal and principal.kind is PrincipalKind.AGENCY and args.action in {"disable", "delete"}:
        revoked = revoke_agency_links(args.id, resources=res)  # its signed URLs must stop working too
        print(f"revoked {len(revoked)} active video-link request(s) of {args.id}")
    return 0


def revoke_agency_links(principal_id: str, *, resources: Resources | None = None) -> list[str]:
    """Revoke every active video-link request of a withdrawn agency (edge revocation list included)."""
    from chalicelib.wiring.video_links import build_video_links

    return build_video_links(get_settings(), resources or _resources()).revoke_agency(principal_id,
                                                                                   reason="agency withdrawn")


def _cmd_cameras(args: argparse.Namespace) -> int:
    res = _resources()
    if args.action == "load":
        cameras = [Camera.model_validate(c) for c in json.loads(Path(args.file).read_text())]
        started = time.perf_counter()
        loaded = _registry(res).load_catalog(cameras, progress=show_progress("cameras stored"))
        print(f"loaded {loaded} cameras in {time.perf_counter() - started:.1f} s")
    else:
        answer = _registry(res).nearest(args.lat, args.lon, k=args.k, radius_m=args.radius)
        print(answer.model_dump_json(indent=2))
    return 0


def _cmd_footage(args: argparse.Namespace) -> int:
    from chalicelib.services.footage import FootageCatalog

    res = _resources()
    settings = res.settings
    catalog = FootageCatalog(res.store("footage"), res.table("footage"), retention_days=settings.footage_retention_days,
                             segment_seconds=settings.segment_seconds)
    start_ms = int(datetime.fromisoformat(args.start.replace("Z", "+00:00")).timestamp() * 1000)
    segments = catalog.ingest(args.camera, Path(args.video), start_ms=start_ms, now_ms=now_ms())
    print(f"{len(segments)} segments for {args.camera}")
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    since = int((time.time() - args.hours * 3600) * 1000)
    for record in AuditLog(_resources().table("audit")).records(since_ms=since):
        if args.json:
            print(record.model_dump_json())
        else:
            moment = datetime.fromtimestamp(record.at_ms / 1000).isoformat(timespec="seconds")
            print(f"{moment} {record.action:22} {record.result:8} {record.actor:24} {record.source_ip or '-':15} "
                  f"{record.subject or '-'} {json.dumps(record.details, ensure_ascii=False)}")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from chalicelib.video.models import SHARED_MODELS, register_video_models

    if args.action in XRAY_MODEL_ACTIONS:
        return _cmd_models_xray(args)
    if args.action != "register-video":
        return _cmd_models_admin(args)
    directory = Path(args.dir) if args.dir else SHARED_MODELS
    for manifest in register_video_models(_resources().store("models"), directory):
        print(f"{manifest.role:8} {manifest.ref} sha256 {manifest.sha256} (active)")
    return 0


def _model_registry(store: ObjectStore, role: str) -> ManifestRegistry[Any]:
    """The registry (manifest type) for a role: ``xray`` or a video model's task."""
    from chalicelib.inference.registry import ModelRegistry
    from chalicelib.video.models import SPECS, video_registry

    if role in {spec.task for spec in SPECS}:
        return video_registry(store)
    if role == XRAY_TASK:
        return ModelRegistry(store)
    raise SystemExit(f"unknown role {role!r}: xray or one of {', '.join(spec.task for spec in SPECS)}")


def _cmd_models_admin(args: argparse.Namespace) -> int:
    """models list | activate NAME VERSION [--role ROLE] | rollback ROLE. Running readers switch within
    ACTIVE_CHECK_S (chalicelib/inference/active.py), without a restart."""
    store = _resources().store("models")
    if args.action == "list":
        any_registry = _model_registry(store, XRAY_TASK)
        active = {pointer: task for task, pointer in any_registry.active_tasks().items()}
        for name, version in any_registry.registered():
            task = active.get((name, version))
            print(f"{name}/{version}" + (f"  (active: {task})" if task else ""))
        return 0
    if args.action == "activate":
        if len(args.names) != 2:
            raise SystemExit("models activate needs NAME VERSION")
        name, version = args.names
        role = args.role or XRAY_TASK
        _model_registry(store, role).activate(role, name, version)
        print(f"{role}: {name}/{version} active")
        return 0
    if len(args.names) != 1:
        raise SystemExit("models rollback needs ROLE")
    role = args.names[0]
    name, version = _model_registry(store, role).rollback(role)
    print(f"{role}: rolled back to {name}/{version}")
    return 0


def register_xray_model(model: bytes, manifest_json: str, *, activate: bool,
                        resources: Resources | None = None) -> ModelManifest:
    """Register a third-party X-ray classifier from its files: the manifest is validated, the sha256 checked,
    and the model opened and run once on a blank image by its manifest (wrong input name, size or label
    count is refused here, not on the first study); ``activate`` makes it the reader's model."""
    from chalicelib.inference.registry import ModelRegistry, cam_weights, open_session

    manifest = ModelManifest.model_validate_json(manifest_json)
    Classifier(manifest, open_session(model, preferred=("CPUExecutionProvider",)),
               cam_weights=cam_weights(model, manifest)).warm_up()
    registry = ModelRegistry((resources or _resources()).store("models"))
    registry.register(manifest, model)
    if activate:
        registry.activate(XRAY_TASK, manifest.name, manifest.version)
    return manifest


def _cmd_models_xray(args: argparse.Namespace) -> int:
    """``models register`` and ``models schema`` (the X-ray classifier registry)."""
    if args.action == "schema":
        print(json.dumps(manifest_schema(), indent=2))
        return 0
    if args.action == "register-reference":  # a deploy step; needs the onnx package
        from chalicelib.inference.reference_model import ensure_reference_model
        from chalicelib.inference.registry import ModelRegistry

        reference = ensure_reference_model(ModelRegistry(_resources().store("models")))
        print(f"registered {reference.ref} (sha256 {reference.sha256[:12]}…, clinical={reference.clinical})")
        return 0
    if not (args.model and args.manifest):
        print("models register needs --model and --manifest", file=sys.stderr)
        return 2
    try:
        manifest = register_xray_model(Path(args.model).read_bytes(), Path(args.manifest).read_text(),
                                       activate=args.activate)
    except (ValidationError, PermanentError, ValueError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    state = f"active for task {XRAY_TASK}" if args.activate else "registered, not active"
    print(f"{manifest.ref} sha256 {manifest.sha256} ({state})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gt-admin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    principal = sub.add_parser("principal", help="create or list principals")
    principal.add_argument("action", choices=["create", "list", *CREDENTIAL_ACTIONS])
    principal.add_argument("--kind", choices=[k.value for k in PrincipalKind])
    principal.add_argument("--name")
    principal.add_argument("--id")
    principal.add_argument("--cidr", action="append", help="registered source range (repeatable)")
    principal.add_argument("--attribute", action="append", help="key=value (repeatable)")
    principal.add_argument("--expires-in", type=int, metavar="SECONDS", help="create/rotate: the token expires")
    principal.set_defaults(run=_cmd_principal)

    cameras = sub.add_parser("cameras", help="load a catalog or query it")
    cameras.add_argument("action", choices=["load", "nearest"])
    cameras.add_argument("--file")
    cameras.add_argument("--lat", type=float)
    cameras.add_argument("--lon", type=float)
    cameras.add_argument("--k", type=int, default=5)
    cameras.add_argument("--radius", type=float, default=3000.0)
    cameras.set_defaults(run=_cmd_cameras)

    footage = sub.add_parser("footage", help="ingest a video file as a camera's recorded footage")
    footage.add_argument("action", choices=["ingest"])
    footage.add_argument("--camera", required=True)
    footage.add_argument("--video", required=True)
    footage.add_argument("--start", required=True, help="ISO-8601 start time of the recording")
    footage.set_defaults(run=_cmd_footage)

    audit = sub.add_parser("audit", help="show the audit log")
    audit.add_argument("action", choices=["show"])
    audit.add_argument("--hours", type=float, default=24.0)
    audit.add_argument("--json", action="store_true", help="one JSON record per line (export)")
    audit.set_defaults(run=_cmd_audit)

    models = sub.add_parser("models", help="register models: video (detector, re-identification), X-ray classifiers")
    models.add_argument("action", choices=["register-video", "list", "activate", "rollback", *XRAY_MODEL_ACTIONS])
    models.add_argument("--dir", help="directory holding yolox_nano_coco.onnx and osnet_x0_25_msmt17.onnx")
    models.add_argument("names", nargs="*", metavar="ARG", help="activate: NAME VERSION; rollback: ROLE")
    models.add_argument("--role", help="activate: the role to activate for (xray, video-detector, video-reid)")
    models.add_argument("--model", help="register: the model.onnx file")
    models.add_argument("--manifest", help="register: its manifest.json (see `models schema`)")
    models.add_argument("--activate", action="store_true", help="register: make it the X-ray reader's model")
    models.set_defaults(run=_cmd_models)
    register_last_mile(sub)
    register_center_webhooks(sub)

    args = parser.parse_args(argv)
    if args.command == "principal" and args.action == "create" and not (args.kind and args.name):
        parser.error("principal create needs --kind and --name")
    if args.command == "principal" and args.action in CREDENTIAL_ACTIONS and not args.id:
        parser.error(f"principal {args.action} needs --id")
    if args.command == "cameras" and args.action == "nearest" and (args.lat is None or args.lon is None):
        parser.error("cameras nearest needs --lat and --lon")
    if args.command == "cameras" and args.action == "load" and not args.file:
        parser.error("cameras load needs --file")
    return run_reporting_connection(lambda: int(args.run(args)))


def show_progress(label: str, *, stream: TextIO = sys.stderr) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback that redraws one line on ``stream`` (a terminal)."""
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        stream.write(f"\r  {label}: {done:,}/{total:,} ({100 * done // max(total, 1)} %, "
                     f"{time.perf_counter() - started:.0f} s){end}")
        stream.flush()

    return progress


def run_reporting_connection(command: Callable[[], int]) -> int:
    """Run an admin command; an unreachable AWS endpoint is one plain line, not a traceback."""
    settings = get_settings()
    try:
        return command()
    except (EndpointConnectionError, ConnectTimeoutError) as exc:
        if settings.aws_endpoint_url:
            print(f"error: the local platform is not running (nothing answers at {settings.aws_endpoint_url}); "
                  "start it with `make serve`", file=sys.stderr)
        else:
            print(f"error: AWS is not reachable ({exc})", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
