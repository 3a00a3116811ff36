"""The X-ray reader: S3 uploads → decode → de-identify → quality gate → one batched inference → reading.

``prepare`` handles a whole SQS batch: it fetches and decodes every upload whose study is still
pending, applies the quality gate and scores all accepted images with ONE batched inference (which
also returns the feature maps when the manifest names them). ``finish`` then settles one upload (the
unit the handler makes idempotent): rejected studies get their reason, accepted ones a reading with
findings and triage and a de-identified DICOM copy; the center is notified. ``explain`` is the step
after: once the batch's readings are stored and notified, it makes their heat maps (a class activation
map from the scoring run's features when the manifest allows, else batched occlusion on a coarse
grid), adds each to its reading and writes the JSON report in S3. ``give_up`` fails a study whose
upload keeps failing (last delivery before the DLQ). Pure: ports in, no boto3, no environment.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from chalicelib.errors import Conflict, ObjectMissing, TransientError
from chalicelib.imaging.decode import DecodedImage, DecodeLimits, decode_image
from chalicelib.imaging.deid import deidentify_dicom
from chalicelib.imaging.errors import ImageRejected
from chalicelib.imaging.quality import QualityReport, QualityRules, check_quality
from chalicelib.inference.classifier import Classifier
from chalicelib.inference.manifest import Colour
from chalicelib.inference.postprocess import findings, triage
from chalicelib.inference.preprocess import Tensor, preprocess, stack
from chalicelib.models.xray import (
    Finding,
    ImageInfo,
    ModelInfo,
    Reading,
    Reason,
    SourceObject,
    Study,
    StudyNotice,
    StudyStatus,
    Timings,
    Triage,
    XrayUpload,
)
from chalicelib.ports import Notifier, ObjectStore
from chalicelib.services.xray.studies import XrayStudies, parse_upload_key

logger = logging.getLogger(__name__)
NON_CLINICAL_NOTE = "NON-CLINICAL reference model: not trained or validated; never use this reading for diagnosis."


UploadId = tuple[str, str, str, str]


def upload_id(upload: XrayUpload) -> UploadId:
    return upload.bucket, upload.key, upload.etag, upload.version_id or ""


@dataclass
class Prepared:
    upload: XrayUpload
    study: Study | None = None
    ignored: str | None = None
    rejection: ImageRejected | None = None
    error: Exception | None = None
    image: DecodedImage | None = None
    quality: QualityReport | None = None
    tensor: Tensor | None = None
    scores: NDArray[np.float32] | None = None
    features: NDArray[np.float32] | None = None
    settled: Study | None = None
    report: dict[str, Any] | None = None
    heat: NDArray[np.float32] | None = None
    heatmap_png: bytes | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class PreparedBatch:
    items: dict[UploadId, Prepared]
    started_ms: int
    batch_size: int = 0
    inference_ms: float = 0.0
    heat_maps: Future[str | None] | None = None  # computing while the readings are stored; its method


class XrayReader:
    def __init__(self, studies: XrayStudies, store: ObjectStore, classifier: Callable[[], Classifier],
                 notifier: Notifier, *, uid_salt: str, limits: DecodeLimits | None = None,
                 rules: QualityRules | None = None, clock: Callable[[], float] = time.time,
                 heatmap_grid: int = 4, fetch_workers: int = 8) -> None:
        self._studies = studies
        self._store = store
        self._classifier = classifier
        self._notifier = notifier
        self._salt = uid_salt
        self._limits = limits or DecodeLimits()
        self._rules = rules or QualityRules()
        self._clock = clock
        self._grid = heatmap_grid
        self._pool = ThreadPoolExecutor(max_workers=fetch_workers, thread_name_prefix="xray-fetch")
        self._heat = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xray-heat")

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # ---- batch stage ---------------------------------------------------------------------
    def prepare(self, uploads: Sequence[XrayUpload]) -> PreparedBatch:
        batch = PreparedBatch(items={}, started_ms=self._now_ms())
        for upload in uploads:
            batch.items.setdefault(upload_id(upload), Prepared(upload=upload))
        ids = sorted({parsed[1] for item in batch.items.values() if (parsed := parse_upload_key(item.upload.key))})
        try:
            studies: dict[str, Study] | None = self._studies.find_many(ids) if ids else {}
        except Exception:  # each upload then reads its own study, and fails alone if storage is down
            logger.warning("batched study read failed", exc_info=True)
            studies = None
        list(self._pool.map(lambda item: self._load(item, studies), batch.items.values()))
        ready = [p for p in batch.items.values() if p.image is not None and p.rejection is None and p.error is None]
        if not ready:
            return batch
        try:
            classifier = self._classifier()
            for item in ready:
                started = time.perf_counter()
                assert item.image is not None
                colour = item.image.rgb if classifier.manifest.colour is Colour.RGB else None
                item.tensor = preprocess(item.image.pixels, classifier.manifest, colour)
                item.timings["preprocess_ms"] = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            scores, features = classifier.run_with_features(stack([item.tensor for item in ready
                                                                   if item.tensor is not None]))
            batch.inference_ms = (time.perf_counter() - started) * 1000
        except Exception as exc:  # a model failure fails every image of the batch; each record retries
            logger.exception("batched inference failed", extra={"images": len(ready)})
            for item in ready:
                item.error = exc
            return batch
        batch.batch_size = len(ready)
        for n, (item, row) in enumerate(zip(ready, scores, strict=True)):
            item.scores = row
            item.features = features[n] if features is not None else None
        # The heat maps need only the scoring run: computed (off the GIL, mostly) while the handler stores the
        # readings, and stored by ``explain`` once the readings are.
        batch.heat_maps = self._heat.submit(self._heat_maps, ready)
        return batch

    # ---- the step after the readings: heat maps --------------------------------------------
    def explain(self, batch: PreparedBatch) -> int:
        """Heat maps of the readings this batch stored, each added to its reading, then each study's JSON
        report (with its heat map); returns how many maps were added. Never raises: an explanation is not
        worth a redelivery of readings already made."""
        items = [item for item in batch.items.values() if item.settled is not None and item.scores is not None]
        if not items:
            return 0
        method = batch.heat_maps.result() if batch.heat_maps is not None else self._heat_maps(items)
        # each item: store the map, update the reading, write the report: items overlap in the pool
        return sum(self._pool.map(lambda item: self._add_heatmap(item, method), items))

    def _heat_maps(self, items: list[Prepared]) -> str | None:
        """Each item's heat map (a class activation map from the scoring run's features when the manifest
        allows, else batched occlusion) and its PNG overlay; returns the method, None when it failed."""
        started = time.perf_counter()
        try:
            classifier = self._classifier()
            if classifier.has_cam and all(item.features is not None for item in items):
                method = "class activation map"
                maps = [classifier.class_activation(item.features, _top(item.scores))  # type: ignore[arg-type]
                        for item in items]
            else:
                method = f"occlusion sensitivity ({self._grid}x{self._grid}, batched)"
                maps = classifier.occlusion_batch([item.tensor for item in items if item.tensor is not None],
                                                  [_top(item.scores) for item in items], grid=self._grid)
            per_image = (time.perf_counter() - started) * 1000 / len(items)
            for item, heat in zip(items, maps, strict=True):
                item.heat = heat
                item.timings["heatmap_ms"] = per_image
                _render(item)
        except Exception:  # the reports are still written, without a heat map
            logger.exception("heat maps failed", extra={"images": len(items)})
            return None
        return method

    def _add_heatmap(self, item: Prepared, method: str | None) -> bool:
        study = item.settled
        if study is None or study.reading is None:
            return False
        reading, added = study.reading, False
        try:
            if item.heat is not None and method is not None:
                if item.heatmap_png is None:
                    _render(item)
                key = f"reports/{study.center_id}/{study.study_id}/heatmap.png"
                self._store.put(key, item.heatmap_png or b"", content_type="image/png")
                timings = reading.timings.model_copy(update={"heatmap_ms": _r(item.timings.get("heatmap_ms", 0.0))})
                reading = reading.model_copy(update={"heatmap_key": key, "heatmap_method": method, "timings": timings})
                self._studies.add_heatmap(study, reading, now_ms=self._now_ms())
                added = True
        except Exception:
            logger.exception("heat map not stored", extra={"study_id": study.study_id})
        try:
            if item.report is not None:
                heatmap = None
                if added and item.heat is not None:
                    heatmap = {"method": method, "label": reading.findings[_top(item.scores)].label,
                               "values": np.round(item.heat, 3).tolist()}
                report = {**item.report, "reading": reading.model_dump(mode="json"), "heatmap": heatmap}
                self._store.put(reading.report_key, json.dumps(report, indent=2).encode(),
                                content_type="application/json")
        except Exception:
            logger.exception("report not stored", extra={"study_id": study.study_id})
        return added

    def _load(self, item: Prepared, studies: dict[str, Study] | None = None) -> None:
        upload = item.upload
        parsed = parse_upload_key(upload.key)
        if parsed is None:
            item.ignored = "not a study upload key"
            return
        center_id, study_id = parsed
        try:
            study = studies.get(study_id) if studies is not None else self._studies.find(study_id)
            if study is None or study.center_id != center_id:
                item.ignored = "no such study for this center"
                return
            item.study = study
            if study.status is not StudyStatus.PENDING:
                return  # settled already: finish() decides (duplicate or late upload)
            started = time.perf_counter()
            data = self._store.get(upload.key)
            item.timings["fetch_ms"] = (time.perf_counter() - started) * 1000
        except ObjectMissing:
            item.ignored = "the uploaded object is gone"
            return
        except Exception as exc:  # storage trouble: retry the record
            item.error = exc
            return
        try:
            started = time.perf_counter()
            item.image = decode_image(data, self._limits)
            decoded = time.perf_counter()
            item.timings["decode_ms"] = (decoded - started) * 1000
            item.quality = check_quality(item.image, self._rules)
            item.timings["quality_ms"] = (time.perf_counter() - decoded) * 1000
        except ImageRejected as exc:
            item.rejection = exc
        except Exception as exc:  # a decoder crash on hostile input is still that input's fault
            logger.error("decoder failed", extra={"study_id": study_id, "error": type(exc).__name__})  # no message: PHI
            item.rejection = ImageRejected(f"the image could not be decoded ({type(exc).__name__})")

    # ---- per-record stage (idempotent in the handler) ------------------------------------
    def finish(self, upload: XrayUpload, batch: PreparedBatch) -> dict[str, Any]:
        item = batch.items.get(upload_id(upload))
        if item is None:  # not prepared with this batch (called directly): prepare it alone
            item = self.prepare([upload]).items[upload_id(upload)]
        if item.error is not None:
            raise item.error
        if item.ignored is not None or item.study is None:
            logger.warning("upload ignored", extra={"key": upload.key, "why": item.ignored})
            return {"outcome": "ignored", "why": item.ignored}
        study, source = item.study, _source(upload)
        if study.status is not StudyStatus.PENDING:
            if study.source == source:  # this very upload was recorded: make sure the center heard of it
                self._notify(study)
                return {"outcome": "recorded", "study_id": study.study_id, "status": study.status.value}
            logger.warning("late upload for a settled study", extra={"study_id": study.study_id})
            return {"outcome": "ignored", "why": f"study already {study.status.value}", "study_id": study.study_id}
        try:
            if item.rejection is not None:
                settled = self._studies.reject(study, Reason(code=item.rejection.code, message=item.rejection.message),
                                               source, now_ms=self._now_ms())
            else:
                settled = self._studies.complete(study, self._reading(item, batch), source, now_ms=self._now_ms())
                item.settled = settled
        except Conflict:
            return {"outcome": "ignored", "why": "study settled concurrently", "study_id": study.study_id}
        self._notify(settled)
        logger.info("study settled", extra={"study_id": settled.study_id, "center_id": settled.center_id,
                                            "status": settled.status.value,
                                            "code": settled.reason.code if settled.reason else None})
        return {"outcome": settled.status.value, "study_id": settled.study_id}

    def give_up(self, upload: XrayUpload, exc: BaseException, attempts: int) -> None:
        """The last delivery failed too: the message goes to the DLQ and the study says why."""
        parsed = parse_upload_key(upload.key)
        study = self._studies.find(parsed[1]) if parsed else None
        if study is None or study.status is not StudyStatus.PENDING:
            return
        kind = "a temporary fault" if isinstance(exc, TransientError) else "an internal error"
        reason = Reason(code="reading_failed",
                        message=f"the reader failed {attempts} times ({kind}: {type(exc).__name__}); the upload "
                                "was moved to the dead-letter queue for investigation")
        try:
            self._notify(self._studies.fail(study, reason, now_ms=self._now_ms()))
        except Conflict:
            return

    # ---- pieces ---------------------------------------------------------------------------
    def _reading(self, item: Prepared, batch: PreparedBatch) -> Reading:
        assert item.study is not None
        assert item.image is not None
        assert item.scores is not None
        classifier = self._classifier()
        manifest = classifier.manifest
        study, image = item.study, item.image
        scored = findings(item.scores, manifest)
        base = f"reports/{study.center_id}/{study.study_id}"
        started = time.perf_counter()
        deid_key = withheld = None
        deid_info: dict[str, Any] | None = None
        if image.dataset is not None:
            deid = deidentify_dicom(image.dataset, uid_salt=self._salt, pseudonym=study.study_id)
            withheld = deid.withheld
            if deid.data is not None:  # withheld (burned-in identity): no copy, the study is flagged for review
                deid_key = f"deid/{study.center_id}/{study.study_id}/image.dcm"
                self._store.put(deid_key, deid.data, content_type="application/dicom")
            deid_info = {"key": deid_key, "profile": "DICOM PS3.15 Basic Application Level Confidentiality Profile",
                         "attributes_removed": len(deid.removed), "burned_in_annotation": deid.burned_in_annotation,
                         "withheld": withheld}
        store_ms = (time.perf_counter() - started) * 1000
        finished_ms = self._now_ms()
        timings = Timings(
            queue_wait_ms=_r(max(0, batch.started_ms - item.upload.sent_ms)) if item.upload.sent_ms else 0.0,
            fetch_ms=_r(item.timings.get("fetch_ms", 0.0)), decode_ms=_r(item.timings.get("decode_ms", 0.0)),
            quality_ms=_r(item.timings.get("quality_ms", 0.0)), preprocess_ms=_r(item.timings.get("preprocess_ms", 0.0)),
            inference_ms=_r(batch.inference_ms), heatmap_ms=0.0, store_ms=_r(store_ms),
            total_ms=_r(finished_ms - (item.upload.sent_ms or batch.started_ms)), batch_size=max(1, batch.batch_size))
        reading = Reading(
            model=ModelInfo(name=manifest.name, version=manifest.version, clinical=manifest.clinical,
                            providers=classifier.providers),
            findings=[Finding(label=f.label, score=f.score, threshold=f.threshold, positive=f.positive) for f in scored],
            triage=Triage(triage(scored)),
            image=ImageInfo(format=image.format, width=image.width, height=image.height, bits=image.bits,
                            photometric=image.photometric),
            report_key=f"{base}/report.json", deid_key=deid_key,
            deid_withheld=withheld, review_required=withheld is not None,
            timings=timings, completed_ms=finished_ms)
        report = {
            "study_id": study.study_id, "center_id": study.center_id, "reading": reading.model_dump(mode="json"),
            "heatmap": None,
            "quality": vars(item.quality) if item.quality else None, "deidentification": deid_info,
            "model_description": manifest.description,
            "notice": None if manifest.clinical else NON_CLINICAL_NOTE,
        }
        item.report = report  # written by the step after, with the heat map: one write, off the reading's path
        return reading

    def _notify(self, study: Study) -> None:
        notice = StudyNotice(study_id=study.study_id, center_id=study.center_id, status=study.status,
                             triage=study.reading.triage if study.reading else None,
                             reason_code=study.reason.code if study.reason else None)
        self._notifier.publish(notice.model_dump_json(), subject=f"X-ray study {study.study_id} {study.status.value}",
                               attributes={"center_id": study.center_id, "status": study.status.value})


def _render(item: Prepared) -> None:
    if item.image is not None and item.heat is not None:
        started = time.perf_counter()
        item.heatmap_png = overlay_png(item.image.pixels, item.heat)
        item.timings["heatmap_ms"] = item.timings.get("heatmap_ms", 0.0) + (time.perf_counter() - started) * 1000


def _top(scores: NDArray[np.float32] | None) -> int:
    return 0 if scores is None else int(np.argmax(scores))


def _source(upload: XrayUpload) -> SourceObject:
    return SourceObject(bucket=upload.bucket, key=upload.key, etag=upload.etag, version_id=upload.version_id)


def _r(value: float) -> float:
    return round(float(value), 2)


def overlay_png(pixels: NDArray[np.float32], heat: NDArray[np.float32], max_side: int = 256) -> bytes:
    """The grey image with the heat map blended in red→yellow (alpha ∝ heat), as PNG bytes."""
    h, w = pixels.shape
    scale = min(1.0, max_side / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    grey_img = Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), mode="L")
    grey = np.asarray(grey_img.resize(size, Image.Resampling.BILINEAR), dtype=np.float32) / 255
    heat_img = Image.fromarray((np.clip(heat, 0, 1) * 255).astype(np.uint8), mode="L")
    hot = np.asarray(heat_img.resize(size, Image.Resampling.BILINEAR), dtype=np.float32) / 255
    alpha = 0.55 * hot
    keep = grey * (1 - alpha)
    rgb = np.stack([keep + alpha, keep + alpha * hot, keep], axis=-1)
    buffer = io.BytesIO()
    Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), mode="RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
