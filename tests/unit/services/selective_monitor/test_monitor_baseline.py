"""The per-camera scene baseline: light and noise are learnt, real change wakes the detector."""

from __future__ import annotations

import numpy as np

from chalicelib.services.selective_monitor.baseline import MIN_BLOB, WARMUP, SceneBaseline
from chalicelib.services.selective_monitor.rules import CameraState

RNG = np.random.default_rng(3)
SCENE = RNG.integers(40, 200, (576, 768, 3)).astype(np.float32)  # a textured, fixed scene


def shot(light: float = 1.0, noise: float = 3.0, person: bool = False) -> np.ndarray:
    frame = SCENE * light + RNG.normal(0, noise, SCENE.shape)
    if person:  # a dark figure 1/5 of the frame high
        frame[300:420, 380:420] = 15
    return np.clip(frame, 0, 255).astype(np.uint8)


def warmed(light: float = 1.0, noise: float = 3.0) -> SceneBaseline:
    scene = SceneBaseline()
    for _ in range(WARMUP + 5):
        scene.wakes(shot(light, noise))
    return scene


def test_warm_up_frames_all_go_to_the_detector():
    scene = SceneBaseline()
    assert all(scene.wakes(shot()) for _ in range(WARMUP))


def test_sensor_noise_alone_wakes_nothing_and_a_person_wakes_the_detector():
    scene = warmed()
    assert not any(scene.wakes(shot()) for _ in range(20))
    assert scene.changed(shot(person=True)) >= MIN_BLOB


def test_a_global_light_change_is_not_a_change_of_the_scene():
    scene = warmed()
    assert not scene.wakes(shot(light=0.7))  # a cloud, auto-exposure: every pixel alike
    assert not scene.wakes(shot(light=0.5))
    assert scene.wakes(shot(light=0.5, person=True))


def test_a_noisy_night_camera_learns_its_noise():
    scene = warmed(light=0.3, noise=12.0)
    assert scene.dark and scene.noise > warmed().noise
    assert not any(scene.wakes(shot(light=0.3, noise=12.0)) for _ in range(20))
    assert scene.wakes(shot(light=0.3, noise=12.0, person=True))


def test_dark_frames_reach_the_detector_brightened_and_day_frames_untouched():
    night, day = warmed(light=0.3), warmed()
    frame = shot(light=0.3)
    assert night.exposed(frame).mean() > 2 * frame.mean()
    assert day.exposed(shot()) is not None and np.array_equal(day.exposed(frame), frame)


def test_the_baseline_survives_the_state_store():
    state = CameraState()
    for _ in range(WARMUP + 3):
        state.scene.wakes(shot())
    state.episodes["lawn"] = [3, 4]
    copy = CameraState.from_dict(state.to_dict())
    assert copy.episodes == {"lawn": [3, 4]} and copy.scene.frames == state.scene.frames
    assert copy.scene.background is not None and state.scene.background is not None
    assert np.allclose(copy.scene.background, state.scene.background, atol=0.5)  # stored as float16
    frame = shot(person=True)
    assert copy.scene.changed(frame) == state.scene.changed(frame)
