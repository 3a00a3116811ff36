"""Missing-person search benchmark: shard speed against decode-only speed, process scaling, precision@5.

Run: ``PYTHONPATH=. .venv/bin/python tests/bench/bench_search.py [--seconds 80] [--sample-fps 2] [--strict]``.

1. The footage is vtest.avi (768×576, 10 fps) transcoded once into the platform's own H.264 MPEG-TS
   segments (what the footage bucket holds), ``--seconds`` of it.
2. decode: every segment decoded from bytes, nothing else (the floor any search pays).
3. search: the shard pipeline over the same segments — decode (a few frames ahead, in a second
   thread), sample at ``--sample-fps``, motion gate, YOLOX people (8 frames per run), OSNet crops
   batched across frames, photo + colour scoring, top-K — default ONNX Runtime threads, the models
   already loaded and warmed (a worker's steady state).
4. scaling: the segments split in two shards; one worker process running both vs two processes
   running one each (one intra-op thread per process in both cases), models loaded beforehand;
   also printed with decoding inline, where each process is one thread.
5. precision@5: the hand-checked people of tests/data/search (the accuracy test's queries).
6. color_accuracy: dominant upper/lower colours of the hand-labelled crops (vtest_colors.json) a person accepts.
7. the search index: index_realtime_factor (footage seconds indexed per wall second: decode, detect, embed,
   colours, track, thumbnails); ≥ 2,400 camera-hours of records (real ones of vtest.avi and ones derived from
   them, see search_index_scale.py); p95 of 100 camera × 2 h and × 24 h searches against it; bytes per
   camera-hour; agreement@5 with the full-decode search on vtest.avi.

Prints ``BENCH <name> <value> <unit>`` lines; the target is search ≤ 2× decode time (with
``--strict`` a missed target exits 1). Needs ../shared (skips with a message otherwise).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import search_index_scale  # noqa: E402
from search_support import (  # noqa: E402
    MODELS,
    VIDEO,
    CachingDetector,
    CachingEmbedder,
    color_accuracy,
    crop,
    index_agreement_at5,
    is_person,
    people,
    sampled_frames,
)

from chalicelib.models.search import PlannedCamera, SearchQuery  # noqa: E402
from chalicelib.services.search.reducer import build_route  # noqa: E402
from chalicelib.services.search.shard import SearchPipeline, count_frames, iter_frames  # noqa: E402
from chalicelib.services.search.stages import load_stages  # noqa: E402
from chalicelib.services.search_index.indexer import SegmentIndexer  # noqa: E402
from chalicelib.services.search_index.query import search_index  # noqa: E402
from chalicelib.services.search_index.records import HOUR_MS, ModelTag, TrackRecord  # noqa: E402
from chalicelib.services.search_index.store import IndexStore  # noqa: E402
from chalicelib.video.segmenter import iter_segments  # noqa: E402

RATIO_TARGET = 2.0
QUERIES = (("A", 60), ("A", 300), ("B", 50), ("B", 280), ("C", 80), ("C", 240), ("D", 450), ("D", 700),
           ("F", 450), ("F", 720))


def bench(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.3f} {unit}", flush=True)


def segments(seconds: float) -> list[tuple[int, bytes, float]]:
    """(start ms, MPEG-TS bytes, duration s) of the footage as the platform stores it."""
    out = []
    for seg in iter_segments(VIDEO, segment_seconds=10.0, preset="veryfast", start_time_s=0.0):
        if seg.start_s >= seconds:
            break
        out.append((round(seg.start_s * 1000), seg.data, seg.duration_s))
    return out


def photo_query(stages, sample_fps: float) -> SearchQuery:  # type: ignore[no-untyped-def]
    frames = {round(f.time_ms / 100): f for f in sampled_frames(2.0)}
    b = people()["B"]
    vector = stages.embedder.embed([crop(frames[230].image, b.boxes[230])])
    return SearchQuery(embeddings=vector.tolist(), embedder=stages.embedder.name, upper_color="red",
                       top_k=20, sample_fps=sample_fps)


def search(stages, query: SearchQuery, segs: list[tuple[int, bytes, float]], decode_ahead: int = 8) -> SearchPipeline:  # type: ignore[no-untyped-def]
    """What a shard does with its segments (ShardRunner.run without the storage)."""
    pipeline = SearchPipeline(query, stages.detector, stages.embedder)
    pipeline.feed((frame for start_ms, data, _ in segs
                   for frame in iter_frames(data, camera_id="BENCH", start_ms=start_ms, sample_fps=query.sample_fps)),
                  decode_ahead=decode_ahead)
    pipeline.finish()
    return pipeline


def _worker(args: tuple[list[tuple[int, bytes, float]], str, int]) -> float:
    """One worker process: search its segments with its models (1 thread); returns its busy seconds."""
    segs, query_json, decode_ahead = args
    started = time.perf_counter()
    stages = load_stages(None, threads=1)
    search(stages, SearchQuery.model_validate_json(query_json), segs, decode_ahead=decode_ahead)
    return time.perf_counter() - started


def _load_models(ready: Any) -> None:
    """Pool initializer: every worker loads its models before the clock starts."""
    load_stages(None, threads=1)
    ready.put(os.getpid())


def scaling(segs: list[tuple[int, bytes, float]], query: SearchQuery, decode_ahead: int = 8) -> tuple[float, float]:
    halves = [segs[0::2], segs[1::2]]
    ctx = multiprocessing.get_context("spawn")
    tasks = [(h, query.model_dump_json(), decode_ahead) for h in halves]
    timings = []
    for processes in (1, 2):
        ready = ctx.Queue()
        with ctx.Pool(processes, initializer=_load_models, initargs=(ready,)) as pool:
            for _ in range(processes):  # interpreter start-up and model load kept out of the measurement
                ready.get(timeout=300)
            t0 = time.perf_counter()
            pool.map(_worker, tasks, chunksize=1)
            timings.append(time.perf_counter() - t0)
    return timings[0], timings[1]


def precision_at5() -> float:
    loaded = load_stages(None)
    detector, embedder = CachingDetector(loaded.detector), CachingEmbedder(loaded.embedder)
    everyone, frames = people(), {round(f.time_ms / 100): f for f in sampled_frames(2.0)}
    correct = 0
    for name, index in QUERIES:
        person = everyone[name]
        query = SearchQuery(embeddings=embedder.embed([crop(frames[index].image, person.boxes[index])]).tolist(),
                            embedder=embedder.name, top_k=8)
        pipeline = SearchPipeline(query, detector, embedder, motion=None)
        pipeline.feed(sampled_frames(2.0))
        hits = [s for s, _ in pipeline.finish().get("VTEST", []) if round(s.time_ms / 100) != index][:5]
        correct += sum(is_person(person, s.time_ms, (s.box.x1, s.box.y1, s.box.x2, s.box.y2)) for s in hits)
    return correct / (5 * len(QUERIES))


def index_realtime(stages, segs: list[tuple[int, bytes, float]]) -> tuple[float, list[TrackRecord]]:  # type: ignore[no-untyped-def]
    """Footage seconds indexed per wall-clock second (decode, detect, embed, colours, track, thumbnails) and
    the real records of vtest.avi."""
    indexer = SegmentIndexer(stages.detector, stages.embedder, ModelTag(stages.embedder.name, stages.embedder_version))
    records: list[TrackRecord] = []
    footage_s, t0 = 0.0, time.perf_counter()
    for start_ms, data, duration_s in segs:
        records.extend(indexer.index("VTEST", start_ms, data).records)
        footage_s += duration_s
    return footage_s / (time.perf_counter() - t0), records


def index_queries(stages, real: list[TrackRecord], runs_2h: int, runs_24h: int) -> None:  # type: ignore[no-untyped-def]
    """Build (or reuse) the city-scale index, then time searches over 100 cameras × 2 h and × 24 h: read the
    cone's partitions (32 parallel reads), score them by photo + colour as they arrive, keep the best 100 people,
    build the route."""
    import resource

    import numpy as np

    tag = ModelTag(stages.embedder.name, stages.embedder_version)
    store, facts = search_index_scale.build(real, tag, stages.embedder.dim)
    print(f"# index: {facts['records']:,.0f} track records ({len(real)} real from vtest.avi, the rest derived), "
          f"{facts['bytes'] / 1e6:,.1f} MB of Parquet, {facts['camera_hours']:.0f} camera-hours "
          f"(generated in {facts['generated_s']} s, cached under build/)")
    bench("search_index_camera_hours", facts["camera_hours"], "camera-hours")
    bench("search_index_bytes_per_camera_hour", facts["bytes"] / facts["camera_hours"], "bytes")
    index = IndexStore(store)
    query = photo_query(stages, 2.0)
    ids = search_index_scale.camera_ids(100)
    rng = np.random.default_rng(5)
    day0 = search_index_scale.DAY0

    cpu: dict[int, list[float]] = {2: [], 24: []}

    def search(start_ms: int, hours: int, index: IndexStore = index) -> float:
        t0, c0 = time.perf_counter(), time.process_time()
        end_ms = start_ms + hours * HOUR_MS
        cameras = [PlannedCamera(camera_id=c, lat=37.55 + 0.0005 * i, lon=126.97, distance_m=55.0 * i,
                                 reachable_from_ms=start_ms, footage_seconds=hours * 3600.0) for i, c in enumerate(ids)]
        hits = search_index(index, tag, {c: (start_ms, end_ms) for c in ids}, query).hits
        build_route([h.track for h in hits], cameras, max_speed_mps=1.6)
        cpu[hours].append(time.process_time() - c0)
        return time.perf_counter() - t0

    # cold: a new store per search (nothing decoded in the process yet; the page cache is warm all the same)
    cold_two = [search(day0 + int(rng.integers(0, 22 * HOUR_MS)), 2, IndexStore(store)) for _ in range(5)]
    cold_day = [search(day0, 24, IndexStore(store)) for _ in range(2)]
    cpu[2].clear()  # CPU figures below are of the warm runs
    cpu[24].clear()
    cold = search(day0 + 8 * HOUR_MS + 1_234_567, 2)
    two = [search(day0 + int(rng.integers(0, 22 * HOUR_MS)), 2) for _ in range(runs_2h)]
    day = [search(day0, 24) for _ in range(runs_24h)]
    print(f"# 2 h: first {cold:.2f} s, then median {np.median(two):.2f} s; 24 h: median {np.median(day):.2f} s "
          f"(one store, as a warm container: hour files decoded by earlier searches are reused); cold (a new store "
          f"per search): 2 h median {np.median(cold_two):.2f} s, 24 h median {np.median(cold_day):.2f} s "
          "(local disk, page cache warm; S3 adds ~20-50 ms per request round)")
    bench("search_index_query_2h_cold_p95_s", float(np.percentile(cold_two, 95)), "s")
    bench("search_index_query_24h_cold_p95_s", float(np.percentile(cold_day, 95)), "s")
    print(f"# load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores while timing (wall time is shared); "
          "CPU seconds per search (all threads) below")
    bench("search_index_query_2h_p95_s", float(np.percentile(two, 95)), "s")
    bench("search_index_query_24h_p95_s", float(np.percentile(day, 95)), "s")
    bench("search_index_query_2h_cpu_p95_s", float(np.percentile(cpu[2][1:], 95)), "s")
    bench("search_index_query_24h_cpu_p95_s", float(np.percentile(cpu[24], 95)), "s")
    bench("search_index_query_peak_rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MB")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=80.0, help="footage seconds to search")
    parser.add_argument("--sample-fps", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=None,
                        help="ONNX intra-op threads of the single-process search (default: the runtime's choice)")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--no-index", action="store_true", help="skip the search index figures")
    parser.add_argument("--runs-2h", type=int, default=20, help="timed 100 camera × 2 h index searches")
    parser.add_argument("--runs-24h", type=int, default=5, help="timed 100 camera × 24 h index searches")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    if not VIDEO.exists() or not MODELS.exists():
        print("# skipped: needs ../shared/data/video/vtest.avi and ../shared/models")
        return 0
    segs = segments(args.seconds)
    footage_s = sum(d for _, _, d in segs)
    stages = load_stages(None, threads=args.threads)
    providers = getattr(stages.detector, "providers", ["?"])
    print(f"# {len(segs)} segments, {footage_s:.1f} s of 768x576 footage; detector {stages.detector.name} "
          f"({providers[0]}), embedder {stages.embedder.name}; sampling {args.sample_fps:g} fps; "
          f"{args.threads or 'default'} ONNX threads")

    t0 = time.perf_counter()
    frames = sum(count_frames(data)[0] for _, data, _ in segs)
    decode_s = time.perf_counter() - t0
    bench("decode_realtime_factor", footage_s / decode_s, "x")

    query = photo_query(stages, args.sample_fps)
    t0 = time.perf_counter()
    pipeline = search(stages, query, segs)
    search_s = time.perf_counter() - t0
    st = pipeline.stats
    print(f"# decode {decode_s:.2f} s ({frames} frames); search {search_s:.2f} s: {st.frames_searched}/"
          f"{st.frames_decoded} sampled frames past the motion gate, {st.people_detected} people embedded")
    bench("search_realtime_factor", footage_s / search_s, "x")
    ratio = search_s / decode_s
    bench("search_vs_decode_ratio", ratio, "x")

    if not args.no_scaling:
        one, two = scaling(segs, query)
        print(f"# scaling: 1 process {one:.2f} s, 2 processes {two:.2f} s (1 ONNX thread each, decoding ahead "
              "in a second thread: one process already keeps part of the second core busy)")
        bench("search_scaling_2proc", one / two, "x")
        one_inline, two_inline = scaling(segs, query, decode_ahead=0)
        print(f"# scaling with decoding inline (one thread per process): 1 process {one_inline:.2f} s, "
              f"2 processes {two_inline:.2f} s, speed-up {one_inline / two_inline:.2f}x")

    bench("search_precision_at5", precision_at5(), "ratio")
    bench("color_accuracy", color_accuracy(), "ratio")  # dominant colours vs the hand labels of tests/data/search
    if not args.no_index:
        factor, real = index_realtime(stages, segs)
        bench("index_realtime_factor", factor, "x")
        index_queries(stages, real, args.runs_2h, args.runs_24h)
        agreement, report = index_agreement_at5(stages)
        print("# agreement@5 per query: " + "; ".join(report))
        bench("search_index_agreement_at5", agreement, "ratio")
    missed = ratio > RATIO_TARGET
    if missed:
        print(f"# targets missed: search_vs_decode_ratio {ratio:.2f} > {RATIO_TARGET} (CPU-only: detection dominates)")
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
