"""The search index at city scale, for bench_search.py: real records of vtest.avi, and ≥ 2,400 camera-hours of
records derived from them, labelled ``derived`` (their embeddings perturbed), in a directory object store.

Density: a camera-hour holds Poisson(peak × camera busyness × hour-of-day share) tracks; busyness is log-normal
across cameras (σ 0.7, median 1), the day's share 0.05 at night up to 1.0 at the rush hours, and ``peak`` 400
tracks per hour by default (the vtest.avi walkway, a busy campus path, runs at ~4,700 tracks an hour; a
residential alley at tens). Every derived record copies a real one's colours, box path and duration, and its
embedding is the real one plus Gaussian noise (σ 0.03 per dimension: cosine ≈ 0.83 to its source),
renormalised. Generated once into ``build/search-index-bench/`` (ignored) and reused while its recipe holds.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from search_support import DirectoryStore

from chalicelib.services.search_index.parquet import encode
from chalicelib.services.search_index.records import HOUR_MS, ModelTag, TrackRecord, compacted_key

ROOT = Path(__file__).resolve().parents[2] / "build" / "search-index-bench"
DAY0 = 1_800_000_000_000 - 1_800_000_000_000 % (24 * HOUR_MS)  # a UTC midnight
HOUR_SHARE = (0.05, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.7, 1.0, 0.8, 0.6, 0.6, 0.7, 0.6, 0.6, 0.6, 0.7, 0.9, 1.0,
              0.8, 0.6, 0.4, 0.2, 0.1)


def camera_ids(cameras: int) -> list[str]:
    return [f"CAM{i:03d}" for i in range(cameras)]


def build(real: Sequence[TrackRecord], tag: ModelTag, dim: int, *, cameras: int = 100, hours: int = 24,
          peak: float = 400.0, sigma: float = 0.03, seed: int = 18) -> tuple[DirectoryStore, dict[str, float]]:
    """The derived index (cached); returns its store and facts about it."""
    recipe = {"cameras": cameras, "hours": hours, "peak": peak, "sigma": sigma, "seed": seed, "model": tag.slug,
              "real": len(real), "format": 5}
    folder = ROOT / tag.slug.replace("@", "-")
    manifest = folder / "recipe.json"
    store = DirectoryStore(folder / "bucket")
    if manifest.exists() and json.loads(manifest.read_text()).get("recipe") == recipe:
        return store, json.loads(manifest.read_text())["facts"]
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    source = np.stack([r.embedding for r in real]).astype(np.float32)
    busyness = rng.lognormal(0.0, 0.7, cameras)
    total = 0
    for ci, camera_id in enumerate(camera_ids(cameras)):
        for h in range(hours):
            hour_ms = DAY0 + h * HOUR_MS
            n = int(rng.poisson(peak * busyness[ci] * HOUR_SHARE[h % 24]))
            picks = rng.integers(len(real), size=n)
            noisy = source[picks] + rng.normal(0.0, sigma, (n, dim)).astype(np.float32)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            starts = hour_ms + rng.integers(0, HOUR_MS - 10_000, n)
            records = []
            for k in range(n):
                src = real[int(picks[k])]
                shift = int(starts[k]) - src.start_ms
                segment = int(starts[k]) - int(starts[k]) % 10_000
                records.append(replace(src, camera_id=camera_id, segment_start_ms=segment, track_id=k,
                                       start_ms=src.start_ms + shift, end_ms=src.end_ms + shift,
                                       best_ms=src.best_ms + shift,
                                       path=tuple((p[0] + shift, p[1], p[2], p[3], p[4]) for p in src.path),
                                       embedding=noisy[k], derived=True))
            segments = list(range(hour_ms, hour_ms + HOUR_MS, 10_000))
            store.put(compacted_key(tag, camera_id, hour_ms),
                      encode(sorted(records, key=lambda r: r.start_ms), tag=tag, camera_id=camera_id, dim=dim,
                             segments=segments))
            total += n
    size = sum(f.stat().st_size for f in store.root.rglob("*.parquet"))
    facts = {"records": total, "bytes": size, "camera_hours": cameras * hours,
             "generated_s": round(time.perf_counter() - started, 1)}
    folder.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"recipe": recipe, "facts": facts}))
    return store, facts
