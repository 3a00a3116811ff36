"""The faults workload (X-ray uploads, SOS, searches against a platform served with ``--faults``) and
its bookkeeping: what was acknowledged, and how many times each acknowledged item came out."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from agency_support import dispatch_payloads

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.common import instant
from chalicelib.models.principal import PrincipalKind
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog
from chalicelib.settings import get_settings
from local.capture import capture_topic
from local.gps_tracks import CITY_HALL
from local.http_client import session_from
from local.xray_samples import png_bytes, synthetic_chest

HERE = {"lat": CITY_HALL[0], "lon": CITY_HALL[1]}
RETRYABLE = {429, 500, 502, 503, 504}


def call(method: Callable[..., requests.Response], url: str, *, attempts: int = 8, **kwargs: Any) -> requests.Response:
    """A careful client: retries what the API says is transient (5xx, 429), same body and key each time."""
    reply = method(url, timeout=30, **kwargs)
    for attempt in range(attempts - 1):
        if reply.status_code not in RETRYABLE:
            break
        time.sleep(min(2.0, float(reply.headers.get("Retry-After", 0.2 * 2 ** attempt))))
        reply = method(url, timeout=30, **kwargs)
    return reply


@dataclass
class Outcome:
    """Acknowledged items and the deliveries counted for each."""

    acknowledged: dict[str, list[str]] = field(default_factory=lambda: {"study": [], "sos": [], "search": []})
    delivered: dict[str, Counter[str]] = field(default_factory=lambda: {"study": Counter(), "sos": Counter(),
                                                                        "search": Counter()})
    refused: Counter[str] = field(default_factory=Counter)
    phases_s: dict[str, float] = field(default_factory=dict)

    def lost(self) -> dict[str, list[str]]:
        return {kind: [i for i in ids if self.delivered[kind][i] == 0] for kind, ids in self.acknowledged.items()}

    def duplicated(self) -> dict[str, list[str]]:
        return {kind: [i for i in ids if self.delivered[kind][i] > 1] for kind, ids in self.acknowledged.items()}


def _messages(resources: Resources, queue_url: str) -> list[dict[str, Any]]:
    """Everything on the queue now (received and deleted), with the message attributes merged in."""
    sqs = resources.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                    MessageAttributeNames=["All"])
        messages = reply.get("Messages", [])
        if not messages:
            return out
        for message in messages:
            body = json.loads(message["Body"])
            attributes = {k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()}
            out.append({**body, **{f"attr:{k}": v for k, v in attributes.items()}})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _ingest_search_footage(resources: Resources, clip: Path, seen_ms: int) -> None:
    resources.table("cameras").put_many([
        Camera(camera_id=cid, kind=CameraKind.CRIME_PREVENTION, district="Jung-gu", lat=37.57 + dlat,
                lon=126.99).model_dump(mode="json", exclude_none=True)
        for cid, dlat in (("FLT-SEARCH-1", 0.0), ("FLT-SEARCH-2", 0.0005))])
    footage = FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), get_settings(),
                                           preset="ultrafast")
    footage.ingest("FLT-SEARCH-1", clip, start_ms=seen_ms + 2_000)
    footage.ingest("FLT-SEARCH-2", clip, start_ms=seen_ms + 60_000)


def run_workload(api: str, resources: Resources, *, studies: int, sos: int, searches: int, clip: Path | None,
                 settle_s: float = 240.0) -> Outcome:
    """Send the workload, wait until every acknowledged item has come out (or ``settle_s``), count."""
    outcome = Outcome()
    started = time.monotonic()
    _, center = create_principal(PrincipalKind.HEALTH_CENTER, "flt-hc", principal_id="flt-hc", resources=resources)
    _, operator = create_principal(PrincipalKind.OPERATOR, "flt-op", principal_id="flt-op", resources=resources)
    phones = [create_principal(PrincipalKind.APP, f"flt-app-{i}", principal_id=f"flt-app-{i}", resources=resources)[1]
              for i in range(max(1, -(-sos // 5)))]  # five SOS per phone: inside the per-device limit
    CameraRegistry(resources.table("cameras"), resources.store("media"),
                   index_key=get_settings().camera_index_key).load_catalog(
        [Camera(camera_id=f"FLT-{i}", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu",
                lat=CITY_HALL[0] + i * 0.001, lon=CITY_HALL[1]) for i in range(8)])
    notices = capture_topic(resources, "center-notify", "flt-center-notify")
    seen_ms = int(time.time() * 1000) - 300_000
    if searches and clip is not None:
        _ingest_search_footage(resources, clip, seen_ms)

    mark = time.monotonic()
    outcome.phases_s["setup"] = mark - started
    hc = session_from(token=center)
    film = png_bytes(synthetic_chest(256))
    for _ in range(studies):
        created = call(hc.post, f"{api}/v1/xray/studies", json={"filename": "chest.png"})
        if created.status_code != 201:
            outcome.refused[f"study {created.status_code}"] += 1
            continue
        form = created.json()["upload"]
        uploaded = requests.post(form["url"], data=form["fields"], files={"file": ("chest.png", film)}, timeout=30)
        if uploaded.status_code in (200, 201, 204):
            outcome.acknowledged["study"].append(created.json()["study_id"])
    outcome.phases_s["studies"], mark = time.monotonic() - mark, time.monotonic()
    for i in range(sos):
        phone = session_from(token=phones[i // 5])
        reply = call(phone.post, f"{api}/v1/sos", json={"location": HERE, "trigger": "button", "cancel_window_s": 1},
                     headers={"Idempotency-Key": f"flt-sos-{i}"})
        if reply.status_code == 201:
            outcome.acknowledged["sos"].append(reply.json()["incident_id"])
        else:
            outcome.refused[f"sos {reply.status_code}"] += 1
    outcome.phases_s["sos"], mark = time.monotonic() - mark, time.monotonic()
    op = session_from(token=operator)
    colours = ("red", "blue", "black", "white", "green")
    for i in range(searches):
        reply = call(op.post, f"{api}/v1/searches", json={
            "upper_color": colours[i % len(colours)],
            "last_seen": {"location": {"lat": 37.57, "lon": 126.99}, "at": instant(seen_ms).isoformat()},
            "window_minutes": 3, "camera_ids": ["FLT-SEARCH-1", "FLT-SEARCH-2"], "top_k": 5})
        if reply.status_code == 202:
            outcome.acknowledged["search"].append(reply.json()["search_id"])
        else:
            outcome.refused[f"search {reply.status_code}"] += 1

    outcome.phases_s["searches"], mark = time.monotonic() - mark, time.monotonic()
    deadline = time.monotonic() + settle_s
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        fresh = 0
        for notice in _messages(resources, notices):
            outcome.delivered["study"][notice.get("study_id", "?")] += 1
            fresh += 1
        for kind in ("sos", "search"):  # one agency dispatch record per incident or search id
            for subject_id in outcome.acknowledged[kind]:
                if not outcome.delivered[kind][subject_id] and dispatch_payloads(resources, subject_id, timeout_s=0):
                    outcome.delivered[kind][subject_id] += 1
                    fresh += 1
        if fresh:
            quiet_since = time.monotonic()
        all_out = not any(outcome.lost().values())
        if all_out and time.monotonic() - quiet_since > 10:  # every item out, and no duplicate for 10 s
            break
    outcome.phases_s["settle"] = time.monotonic() - mark
    return outcome
