"""A realistic CCTV day for selective monitoring, built from real footage: the benchmark fleet.

Rebuild or inspect it with ``PYTHONPATH=. .venv/bin/python tests/monitor_fleet.py --seed 21``
(prints the placements and writes sample frames under ``.local/monitor-fleet/``). Everything is
deterministic from the seed; the material derived from ``../shared/data/video/vtest.avi`` is
cached under ``.local/monitor-fleet/`` (ignored by git) and rebuilt when missing.

**Material (real pixels).** ``vtest.avi`` is a fixed camera over a campus walkway (768×576, 10 fps).

* *Plate*: the per-pixel temporal median of every 8th frame: the scene with nobody in it.
* *Noise*: residuals (frame − plate) of 24 frames, high-passed and kept where no one is (zero
  near people): the camera's own sensor grain and MPEG-4 artefacts.
* *Clips*: frame ranges of ``vtest.avi`` whose moving pixels (|frame − plate| beyond a threshold,
  opened, dilated, feathered) inside one region (less the zones whose people belong to other
  labelled events) are pasted onto the plate, so one clip shows only the people of that region.
  Clips come from ``tests/data/monitor_vtest_labels.json``.

**Conditions per camera (seeded).** Light follows the clock: day 1.0, dawn 05:30–07:00 and dusk
17:30–19:00 ramps, night 0.30–0.45 of daylight with the infra-red look (grey: an IR-lit camera; at 0.2 the shared detector
no longer sees a walker at the frame edge); the noise residual is
amplified 1 + 2.5 × darkness (sensor gain); JPEG quality 55–85 (every frame is encoded and decoded);
0–2 rain episodes of 1–3 h (falling streaks, a little darker); camera shake of 0–2 px per frame.

**Placements.** Each camera-hour holds min(3, Poisson(λ(hour))) clips (λ 0.15 at night, up to 0.9
at the busiest hours), never overlapping: positives (people the rules must report) and hard
negatives (people on the walkway outside every zone, a cloud shadow crossing the lawn, a parked
van's lights switching on, headlights sweeping the road at night).

**Ground truth, and where it comes from.** *Hand-labelled*: which rule each positive clip must
raise and the frames of the event (``monitor_vtest_labels.json``, labelled by a person looking
at the frames); the hard negatives' clips are cut from regions and frames the labels say hold no
event (walkway), or contain no person at all (shadow, lights). *By placement*: which camera, when,
and in what light, noise and weather each clip plays.

**What is processed (time compression).** A real camera sampled at 2 fps gives 172 800 frames a
day. The bench processes, at the camera's real 2 fps: every frame of each placement's window
(``LEAD_S`` before the clip to ``TAIL_S`` after it), and quiet bursts of ``BURST`` frames every
``QUIET_EVERY_S`` seconds. Every processed frame goes through the monitor's path (baseline,
detector when woken, tracker, rules). Quiet camera-time between bursts is *not* processed: the
bench scales the false alarms found in quiet bursts by (quiet time ÷ burst time) and says so.
Falls: no real fall footage exists here, so the day holds no fall; the fall rule runs on every
camera and each fall it reports is a false alarm.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from monitor_support import LABELS, VTEST, labels, vtest_frames, zone

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".local" / "monitor-fleet"
WIDTH, HEIGHT, FPS = 768, 576, 2.0
LEAD_S, TAIL_S = 2.0, 8.0
QUIET_EVERY_S, BURST = 900, 4
DAY_S = 86_400
KST = 9 * 3600
LAMBDA = [0.15] * 5 + [0.3, 0.5, 0.8, 0.9, 0.7, 0.6, 0.7, 0.9, 0.7, 0.6, 0.6, 0.7, 0.9, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2]
FG_THRESHOLD = 28  # grey levels (sum over channels / 3) a pixel must differ from the plate to be "someone"

Region = tuple[float, float, float, float]  # x1, y1, x2, y2 normalised


@dataclass(frozen=True)
class ClipSpec:
    """A piece of vtest.avi (frames [first, last] at 10 fps) shown through ``region``."""

    name: str
    first: int
    last: int
    region: Region
    rules: tuple[str, ...]  # hand-labelled: the rules this clip must raise ([] = hard negative)
    labelled: tuple[int, int] | None  # hand-labelled event frames, when a positive
    night_only: bool = False
    synthetic: str = ""  # "", "shadow", "van-lights", "headlights": overlays on the plate, no person
    exclude: tuple[str, ...] = ()  # labelled zones cut out of the region (their people belong to other events)

    @property
    def seconds(self) -> float:
        return (self.last - self.first + 1) / 10.0


LAWN_SIDE: Region = (0.16, 0.35, 1.0, 1.0)
LEFT_SIDE: Region = (0.0, 0.2, 0.36, 0.56)
WALKWAY: Region = (0.3, 0.12, 0.85, 0.5)


def _events(rule_id: str) -> dict[str, tuple[int, int]]:
    return {e["id"]: (int(e["frames"][0]), int(e["frames"][1])) for e in labels()["rules"][rule_id]["events"]}


def clip_library() -> list[ClipSpec]:
    """Positives from the hand labels, hard negatives from label-free stretches and overlays."""
    lawn, loiter, left = _events("lawn"), _events("lawn-loiter"), _events("left-exit")
    clips = [ClipSpec("couple-onto-lawn", 495, 560, LAWN_SIDE, ("lawn",), lawn["couple-enters"],
                      exclude=("left-walkway",)),
             ClipSpec("woman-stays-on-lawn", 495, 745, LAWN_SIDE, ("lawn", "lawn-loiter"), loiter["woman-stays"],
                      exclude=("left-walkway",))]
    for event_id, (lo, hi) in left.items():
        clips.append(ClipSpec(f"left-exit-{event_id}", lo - 10, hi + 10, LEFT_SIDE, ("left-exit",), (lo, hi),
                              exclude=("lawn",)))
    clips += [ClipSpec("walkway-passers-a", 0, 150, WALKWAY, (), None),
              ClipSpec("walkway-passers-b", 300, 450, WALKWAY, (), None),
              ClipSpec("cloud-shadow", 0, 199, (0, 0, 1, 1), (), None, synthetic="shadow"),
              ClipSpec("van-lights", 0, 149, (0, 0, 1, 1), (), None, night_only=True, synthetic="van-lights"),
              ClipSpec("headlights-sweep", 0, 59, (0, 0, 1, 1), (), None, night_only=True, synthetic="headlights")]
    return clips


@dataclass(frozen=True)
class Placement:
    camera: str
    clip: str
    start_s: float  # seconds since the camera-day's local midnight
    rules: tuple[str, ...]

    def window(self, clip: ClipSpec) -> tuple[float, float]:
        return self.start_s - LEAD_S, self.start_s + clip.seconds + TAIL_S


@dataclass(frozen=True)
class Camera:
    camera_id: str
    night_level: float
    noise_gain: float
    jpeg_quality: int
    shake_px: float
    rain: tuple[tuple[float, float], ...]  # (start_s, end_s) local

    def light(self, t_s: float) -> float:
        """Scene brightness at local time ``t_s`` (1.0 = daylight)."""
        h = (t_s % DAY_S) / 3600.0
        if 7.0 <= h < 17.5:
            return 1.0
        if 5.5 <= h < 7.0:
            return self.night_level + (1 - self.night_level) * (h - 5.5) / 1.5
        if 17.5 <= h < 19.0:
            return 1.0 - (1 - self.night_level) * (h - 17.5) / 1.5
        return self.night_level

    def raining(self, t_s: float) -> bool:
        return any(a <= t_s < b for a, b in self.rain)


@dataclass
class Fleet:
    seed: int
    cameras: list[Camera]
    placements: list[Placement]
    hours: float

    def describe(self) -> dict[str, Any]:
        return {"seed": self.seed, "hours": self.hours, "cameras": [asdict(c) for c in self.cameras],
                "placements": [asdict(p) for p in self.placements]}

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode()).hexdigest()


def rules_config() -> dict[str, Any]:
    """Every fleet camera's rules: the labelled ones (lawn, 15 s lawn loitering, left exit) and falls."""
    rules = [{**rule["config"], "rule_id": rule_id, "zone": zone(rule["config"]["zone"])}
             for rule_id, rule in labels()["rules"].items()]
    return {"rules": [*rules, {"kind": "person_down", "rule_id": "fall"}], "sample_fps": FPS, "review_s": 10}


def build_fleet(seed: int, cameras: int = 20, hours: float = 24.0) -> Fleet:
    """The placements of the day (no pixels yet): a pure function of the arguments."""
    rng = np.random.default_rng(seed)
    library = {c.name: c for c in clip_library()}
    positives = [c for c in library.values() if c.rules]
    day_negatives = [c for c in library.values() if not c.rules and not c.night_only]
    night_negatives = [c for c in library.values() if not c.rules]
    fleet_cameras, placements = [], []
    for index in range(cameras):
        camera_id = f"CAM-{index + 1:03d}"
        rain = []
        for _ in range(int(rng.integers(0, 3))):
            start = float(rng.uniform(0, hours * 3600 - 3600))
            rain.append((start, start + float(rng.uniform(3600, 3 * 3600))))
        camera = Camera(camera_id=camera_id, night_level=round(float(rng.uniform(0.3, 0.45)), 3),
                        noise_gain=round(float(rng.uniform(0.8, 1.5)), 3), jpeg_quality=int(rng.integers(55, 86)),
                        shake_px=round(float(rng.uniform(0.0, 2.0)), 2), rain=tuple(rain))
        fleet_cameras.append(camera)
        busy: list[tuple[float, float]] = []
        for hour in range(math.ceil(hours)):
            count = min(3, int(rng.poisson(LAMBDA[hour % 24])))
            for _ in range(count):
                night = camera.light(hour * 3600 + 1800) < 0.5
                pool = positives if rng.random() < 0.55 else (night_negatives if night else day_negatives)
                clip = pool[int(rng.integers(0, len(pool)))]
                for _attempt in range(10):
                    start = float(round(rng.uniform(hour * 3600 + LEAD_S, (hour + 1) * 3600 - clip.seconds - TAIL_S)))
                    window = (start - LEAD_S - 1, start + clip.seconds + TAIL_S + 1)
                    if start + clip.seconds + TAIL_S <= hours * 3600 and all(
                            window[1] <= a or window[0] >= b for a, b in busy):
                        busy.append(window)
                        placements.append(Placement(camera_id, clip.name, start, clip.rules))
                        break
    placements.sort(key=lambda p: (p.camera, p.start_s))
    return Fleet(seed=seed, cameras=fleet_cameras, placements=placements, hours=hours)


def schedule(fleet: Fleet, camera: Camera) -> list[tuple[float, Placement | None]]:
    """The (local second, placement or None for a quiet burst) frames the bench processes for ``camera``."""
    library = {c.name: c for c in clip_library()}
    step = 1.0 / FPS
    times: dict[float, Placement | None] = {}
    for placement in (p for p in fleet.placements if p.camera == camera.camera_id):
        lo, hi = placement.window(library[placement.clip])
        for k in range(int((hi - lo) * FPS)):
            times[round(lo + k * step, 3)] = placement
    t0 = QUIET_EVERY_S / 2
    while t0 < fleet.hours * 3600:
        for k in range(BURST):
            times.setdefault(round(t0 + k * step, 3), None)
        t0 += QUIET_EVERY_S
    return sorted(times.items(), key=lambda item: item[0])


# -- material ------------------------------------------------------------------------------------------


@cache
def _library() -> dict[str, ClipSpec]:
    return {c.name: c for c in clip_library()}


@cache
def material() -> dict[str, np.ndarray]:
    """Plate, noise bank and the clips' pasted layers, from vtest.avi (cached under ``CACHE``)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(LABELS.read_bytes() + repr(clip_library()).encode() + b"v5").hexdigest()[:16]
    path = CACHE / f"material-{key}.npz"
    if path.is_file():
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    frames = [f for _, f in vtest_frames()]
    plate = np.median(np.stack(frames[::8]), axis=0).astype(np.uint8)
    out: dict[str, np.ndarray] = {"plate": plate}
    masks = [_foreground(f, plate) for f in frames]
    residuals, holes = [], []
    for i in range(0, 24 * 32, 32):  # high-passed residuals where nobody is: grain, not ghosts
        res = frames[i].astype(np.float32) - plate.astype(np.float32)
        residuals.append(np.clip(res - cv2.GaussianBlur(res, (0, 0), 3), -20, 20))
        holes.append(cv2.dilate(masks[i], np.ones((15, 15), np.uint8)) > 0)
    for i, (res, hole) in enumerate(zip(residuals, holes, strict=True)):
        for k in range(1, len(residuals)):  # fill near people with other frames' grain there
            other = (i + k) % len(residuals)
            take = hole & ~holes[other]
            res[take] = residuals[other][take]
            hole &= ~take
        res[hole] = np.roll(res, (HEIGHT // 3, WIDTH // 3), axis=(0, 1))[hole]
    residuals = [r.astype(np.int8) for r in residuals]
    out["noise"] = np.stack(residuals)
    for clip in clip_library():
        if clip.synthetic:
            continue
        x1, y1, x2, y2 = (int(clip.region[0] * WIDTH), int(clip.region[1] * HEIGHT), int(clip.region[2] * WIDTH),
                          int(clip.region[3] * HEIGHT))
        region = np.zeros((HEIGHT, WIDTH), dtype=np.float32)
        region[y1:y2, x1:x2] = 1.0
        for name in clip.exclude:
            cv2.fillPoly(region, [np.array([(x * WIDTH, y * HEIGHT) for x, y in zone(name)], np.int32)], 0.0)
        composites = []
        for index in range(clip.first, clip.last + 1, int(10 / FPS)):
            alpha = (masks[index] * region / 255.0)[..., None]
            composites.append((plate * (1 - alpha) + frames[index] * alpha).astype(np.uint8))
        out[f"{clip.name}:frames"] = np.stack(composites)
    np.savez_compressed(path, allow_pickle=False, **out)
    return out


@cache
def _noise() -> np.ndarray:
    return material()["noise"].astype(np.float32)


def _foreground(frame: np.ndarray, plate: np.ndarray) -> np.ndarray:
    """0..255 feathered mask of the people in ``frame`` (its difference from the empty plate)."""
    diff = cv2.absdiff(frame, plate).astype(np.uint16).sum(axis=2) // 3
    mask = (diff > FG_THRESHOLD).astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    mask = cv2.dilate(mask, np.ones((5, 5), np.uint8))
    return np.asarray(cv2.GaussianBlur(mask, (7, 7), 0), dtype=np.uint8)


# -- rendering -----------------------------------------------------------------------------------------


def _rng(seed: int, camera: Camera, t_s: float) -> np.random.Generator:
    return np.random.default_rng([seed, int(camera.camera_id[4:]), round(t_s * 1000)])


def render(fleet: Fleet, camera: Camera, t_s: float, placement: Placement | None) -> np.ndarray:
    """The BGR frame ``camera`` delivers at local second ``t_s`` (after its JPEG compression)."""
    return np.asarray(cv2.imdecode(np.frombuffer(render_jpeg(fleet, camera, t_s, placement), np.uint8),
                                   cv2.IMREAD_COLOR), dtype=np.uint8)


def render_jpeg(fleet: Fleet, camera: Camera, t_s: float, placement: Placement | None) -> bytes:
    """The JPEG ``camera`` uploads at local second ``t_s``."""
    mat = material()
    rng = _rng(fleet.seed, camera, t_s)
    frame = mat["plate"].copy()
    clip = _library().get(placement.clip) if placement is not None else None
    start_s = placement.start_s if placement is not None else 0.0
    if clip is not None and 0 <= t_s - start_s < clip.seconds:
        k = int((t_s - start_s) * FPS)
        if clip.synthetic == "shadow":
            _overlay(frame, clip.synthetic, (t_s - start_s) / clip.seconds)
        elif not clip.synthetic and k < len(mat[f"{clip.name}:frames"]):
            frame = mat[f"{clip.name}:frames"][k].copy()
    light = camera.light(t_s)
    if light < 0.5:  # infra-red night picture: grey
        frame = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    raining = camera.raining(t_s)
    frame = cv2.convertScaleAbs(frame, alpha=light * (0.85 if raining else 1.0))
    if clip is not None and clip.synthetic in ("van-lights", "headlights") and 0 <= t_s - start_s < clip.seconds:
        _overlay(frame, clip.synthetic, (t_s - start_s) / clip.seconds)  # lights are not dimmed by the night
    noise = _noise()[int(rng.integers(0, len(mat["noise"])))]
    gain = camera.noise_gain * (1.0 + 2.5 * (1.0 - light))
    grainy = cv2.scaleAdd(noise, gain, frame.astype(np.float32))
    frame = np.clip(grainy, 0, 255, out=grainy).astype(np.uint8)
    if raining:
        _rain(frame, rng)
    if camera.shake_px > 0:
        dx, dy = rng.uniform(-camera.shake_px, camera.shake_px, 2)
        frame = cv2.warpAffine(frame, np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32), (WIDTH, HEIGHT),
                               borderMode=cv2.BORDER_REPLICATE)
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, camera.jpeg_quality])
    assert ok
    return bytes(data.tobytes())


def _overlay(frame: np.ndarray, kind: str, phase: float) -> None:
    """Hard negatives without a person: a cloud shadow, a parked van's lights, headlights on the road."""
    layer = np.zeros(frame.shape[:2], dtype=np.uint8)
    if kind == "shadow":  # a soft shadow drifting across the lawn, 45 % darker at its core
        centre = (int((-0.2 + 1.4 * phase) * WIDTH), int(0.75 * HEIGHT))
        cv2.ellipse(layer, centre, (180, 90), 0, 0, 360, 255, -1)
        layer = np.asarray(cv2.GaussianBlur(layer, (0, 0), 40), dtype=np.uint8)
        frame[:] = (frame * (1 - 0.45 * layer[..., None] / 255.0)).astype(np.uint8)
        return
    if kind == "van-lights":  # the van parked top right switches its lights on, then off
        on = 0.1 < phase < 0.9
        if on:
            for x in (676, 700):
                cv2.circle(layer, (x, 78), 9, 255, -1)
            cv2.ellipse(layer, (660, 100), (60, 18), 0, 0, 360, 120, -1)
    else:  # headlights: a bright cone sweeping along the road behind the walkway
        x = int((1.1 - 1.3 * phase) * WIDTH)
        cv2.ellipse(layer, (x, 165), (110, 30), -8, 0, 360, 200, -1)
    layer = np.asarray(cv2.GaussianBlur(layer, (0, 0), 8), dtype=np.uint8)
    frame[:] = cv2.add(frame, cv2.merge([layer, layer, layer]))


def _rain(frame: np.ndarray, rng: np.random.Generator) -> None:
    """Falling streaks: short bright slanted lines, different every frame."""
    count = 220
    xs = rng.integers(0, WIDTH, count)
    ys = rng.integers(0, HEIGHT, count)
    lengths = rng.integers(8, 22, count)
    streaks = np.zeros(frame.shape[:2], dtype=np.uint8)
    for x, y, n in zip(xs, ys, lengths, strict=True):
        cv2.line(streaks, (int(x), int(y)), (int(x) + int(n) // 4, int(y) + int(n)), 70, 1)
    frame[:] = cv2.add(frame, cv2.merge([streaks, streaks, streaks]))


def camera_frames(fleet: Fleet, camera: Camera) -> Iterator[tuple[float, Placement | None, bytes]]:
    """(local second, placement or None, JPEG) of everything the bench processes for ``camera``."""
    for t_s, placement in schedule(fleet, camera):
        yield t_s, placement, render_jpeg(fleet, camera, t_s, placement)


@dataclass(frozen=True)
class DayScore:
    expected: int  # (positive placement, rule) pairs
    recalled: int  # … with an event of that rule inside the placement's window
    true_events: int
    false_in_windows: int  # events in a placement's window that its truth does not call for
    false_in_quiet: int  # events in quiet bursts
    quiet_scale: float  # unprocessed quiet camera-time per processed quiet-burst second
    camera_hours: float
    missed: tuple[tuple[str, str, float, str], ...]  # (camera, clip, start_s, rule)
    false: tuple[tuple[str, float, str], ...]  # (camera, t_s, rule)

    @property
    def recall(self) -> float:
        return self.recalled / self.expected if self.expected else 1.0

    @property
    def false_alarms(self) -> float:
        """False alarms per camera-hour, the quiet bursts' ones scaled to all quiet camera-time."""
        return (self.false_in_windows + self.false_in_quiet * self.quiet_scale) / self.camera_hours


def score_day(fleet: Fleet, events: list[tuple[str, float, str]]) -> DayScore:
    """``events``: (camera, local second, rule) of every event raised; scored against the placements."""
    library = _library()
    expected, recalled, missed = 0, 0, []
    matched: set[int] = set()
    for placement in fleet.placements:
        lo, hi = placement.window(library[placement.clip])
        for rule in placement.rules:
            expected += 1
            hits = [i for i, (c, t, r) in enumerate(events) if c == placement.camera and r == rule and lo <= t <= hi]
            matched.update(hits)
            if hits:
                recalled += 1
            else:
                missed.append((placement.camera, placement.clip, placement.start_s, rule))
    in_window, quiet, false = 0, 0, []
    for i, (camera, t_s, rule) in enumerate(events):
        if i in matched:
            continue
        windowed = any(p.camera == camera and p.window(library[p.clip])[0] <= t_s <= p.window(library[p.clip])[1]
                       for p in fleet.placements)
        in_window += windowed
        quiet += not windowed
        false.append((camera, t_s, rule))
    window_s = sum(p.window(library[p.clip])[1] - p.window(library[p.clip])[0] for p in fleet.placements)
    total_s = len(fleet.cameras) * fleet.hours * 3600
    bursts = len(fleet.cameras) * math.ceil(fleet.hours * 3600 / QUIET_EVERY_S) * BURST / FPS
    return DayScore(expected=expected, recalled=recalled, true_events=len(matched), false_in_windows=in_window,
                    false_in_quiet=quiet, quiet_scale=max(1.0, (total_s - window_s) / bursts),
                    camera_hours=total_s / 3600, missed=tuple(missed), false=tuple(false))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--hours", type=float, default=24.0)
    args = parser.parse_args()
    if not VTEST.is_file():
        print(f"# needs {VTEST}")
        return 1
    fleet = build_fleet(args.seed, args.cameras, args.hours)
    print(json.dumps(fleet.describe(), indent=1)[:4000])
    print(f"# {len(fleet.placements)} placements, digest {fleet.digest()}")
    camera = fleet.cameras[0]
    frames = schedule(fleet, camera)
    for t_s, placement in frames[:: max(1, len(frames) // 12)]:
        name = f"sample-{camera.camera_id}-{int(t_s)}{'-' + placement.clip if placement else ''}.jpg"
        cv2.imwrite(str(CACHE / name), render(fleet, camera, t_s, placement))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
