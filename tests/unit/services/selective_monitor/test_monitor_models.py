"""Rule configuration models: bounds, unknown keys and time windows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.models.selective_monitor import CameraRules, LoiteringRule, TimeOfDayWindow

ZONE = [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]


def test_a_valid_configuration_with_every_rule_kind():
    cfg = CameraRules.model_validate({"rules": [
        {"kind": "zone_intrusion", "rule_id": "gate", "zone": ZONE},
        {"kind": "loitering", "rule_id": "atm", "zone": ZONE, "dwell_s": 60},
        {"kind": "person_down", "rule_id": "fall"},
        {"kind": "crowding", "rule_id": "crowd", "threshold": 20},
        {"kind": "night_presence", "rule_id": "park", "hours": {"start": "22:30", "end": "05:00"}}]})
    assert [r.kind.value for r in cfg.rules] == ["zone_intrusion", "loitering", "person_down", "crowding",
                                                 "night_presence"]
    assert isinstance(cfg.rules[1], LoiteringRule)


@pytest.mark.parametrize("bad", [
    {"rules": [{"kind": "zone_intrusion", "rule_id": "gate", "zone": ZONE, "colour": "red"}]},  # unknown key
    {"rules": [{"kind": "zone_intrusion", "rule_id": "gate", "zone": [[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]]}]},
    {"rules": [{"kind": "zone_intrusion", "rule_id": "gate", "zone": [[0.1, 0.1], [0.5, 0.9]]}]},  # 2 points
    {"rules": [{"kind": "crowding", "rule_id": "crowd", "threshold": 1}]},
    {"rules": [{"kind": "loitering", "rule_id": "atm", "zone": ZONE, "dwell_s": 0}]},
    {"rules": [{"kind": "teleport", "rule_id": "x"}]},
    {"rules": [{"kind": "person_down", "rule_id": "a"}, {"kind": "person_down", "rule_id": "a"}]},  # duplicate id
    {"rules": [{"kind": "person_down", "rule_id": "Bad Id"}]},
    {"rules": [], "sample_fps": 0},
    {"rules": [{"kind": "person_down", "rule_id": "a", "windows": [{"start": "25:00", "end": "01:00"}]}]},
])
def test_bad_configurations_are_refused(bad):
    with pytest.raises(ValidationError):
        CameraRules.model_validate(bad)


def test_time_windows_including_ones_that_wrap_midnight():
    day, night = TimeOfDayWindow(start="09:00", end="18:00"), TimeOfDayWindow(start="22:00", end="06:00")
    assert day.contains(9 * 60) and not day.contains(18 * 60)
    assert night.contains(23 * 60) and night.contains(5 * 60 + 59) and not night.contains(12 * 60)
    assert TimeOfDayWindow(start="00:00", end="00:00").contains(777)
