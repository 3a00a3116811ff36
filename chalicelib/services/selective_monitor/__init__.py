"""AI selective monitoring (선별관제): surface only the camera moments that need a human.

Stages, each its own module: ``media`` (key scheme, decode, snapshots), ``tracker`` (per-person
ids across frames), ``rules`` (pure evaluation + cooldowns + camera-time accounting),
``priority`` (operator-queue order, SOS boost), ``store`` (rules, state and events in the records
table) and ``pipeline`` (the frame loop, handed a ``Detector`` from ``chalicelib.video.detect``).
"""

from chalicelib.services.selective_monitor.pipeline import MonitorOutcome, MonitorPipeline
from chalicelib.services.selective_monitor.rules import CameraState, Firing, observe
from chalicelib.services.selective_monitor.store import CameraRulesStore, CameraStateStore, MonitorEventStore

__all__ = ["CameraRulesStore", "CameraState", "CameraStateStore", "Firing", "MonitorEventStore", "MonitorOutcome",
           "MonitorPipeline", "observe"]
