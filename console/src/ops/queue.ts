// One priority queue of what the control center must handle: safe-return alerts (SOS, walks home,
// protected persons, unacknowledged dispatches) and selective-monitoring events, polled continuously (300 ms between refreshes).
import { api, type Alert, type MonitorEventView } from "../api/client";

export interface QueueItem {
  id: string;
  source: "alert" | "monitor";
  kind: string;
  status: "open" | "acknowledged" | "resolved";
  priority: number;
  urgent: boolean;
  timeMs: number;
  lat: number | null;
  lon: number | null;
  district: string | null;
  reason: string;
  alert?: Alert;
  event?: MonitorEventView;
}

const ALERT_PRIORITY: Record<string, number> = {
  sos: 100, "sos-escalated": 100, "dispatch-unacknowledged": 90, "zone-exit": 80,
  "off-route": 60, stationary: 55, silent: 55, overdue: 50,
};
const URGENT = new Set(["sos", "sos-escalated", "dispatch-unacknowledged", "zone-exit"]);
export const POLL_MS = 300; // plus the refresh itself: an event shows within about half a second on an idle machine

export function fromAlert(alert: Alert): QueueItem {
  return {
    id: alert.alert_id, source: "alert", kind: alert.kind, status: alert.status ?? "open",
    priority: ALERT_PRIORITY[alert.kind] ?? 40, urgent: URGENT.has(alert.kind), timeMs: Date.parse(alert.raised_at),
    lat: alert.last_position?.location.lat ?? null, lon: alert.last_position?.location.lon ?? null,
    district: alert.district ?? null, reason: alert.reason, alert,
  };
}

function fromEvent(view: MonitorEventView): QueueItem {
  const e = view.event;
  return {
    id: e.event_id, source: "monitor", kind: "monitor", status: e.status ?? "open",
    priority: 20 + Math.min(70, e.priority * 10), urgent: e.severity >= 4 || (e.sos_incident_ids ?? []).length > 0,
    timeMs: Date.parse(e.raised_at), lat: view.location?.lat ?? null, lon: view.location?.lon ?? null, district: null,
    reason: `${e.camera_id} · ${e.reason}`, event: view,
  };
}

/** Open items first, then by priority, newest first. */
export function ordered(items: QueueItem[]): QueueItem[] {
  const rank = { open: 0, acknowledged: 1, resolved: 2 };
  return [...items].sort((a, b) => rank[a.status] - rank[b.status] || b.priority - a.priority || b.timeMs - a.timeMs);
}

export async function fetchQueue(): Promise<QueueItem[]> {
  const [alerts, events] = await Promise.all([
    api.GET("/v1/alerts", { params: { query: { limit: 200 } } }),
    api.GET("/v1/monitor/events", { params: { query: { limit: 100 } } }),
  ]);
  return ordered([...(alerts.data?.alerts ?? []).map(fromAlert), ...(events.data?.events ?? []).map(fromEvent)]);
}

/** A short two-tone alarm, made in the page (no sound file to fetch). */
export function alarm(): void {
  const AudioCtx = window.AudioContext;
  if (!AudioCtx) return;
  const ctx = new AudioCtx();
  [880, 660, 880].forEach((hz, i) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = hz;
    gain.gain.value = 0.15;
    osc.connect(gain).connect(ctx.destination);
    osc.start(ctx.currentTime + i * 0.18);
    osc.stop(ctx.currentTime + i * 0.18 + 0.15);
  });
  window.setTimeout(() => void ctx.close(), 1000);
  (window as unknown as { __gtAlarms?: number }).__gtAlarms = ((window as unknown as { __gtAlarms?: number }).__gtAlarms ?? 0) + 1;
}
