// The selected queue item: what happened, where, its cameras' video, acknowledge / resolve, and for a
// protected-person alert the one-click missing-person search.
import { api, errorText, session } from "../api/client";
import { h, clear } from "../dom";
import { t, tDynamic } from "../i18n";
import { kst } from "../time";
import type { Player } from "../video";
import type { CityMap } from "./map";
import { fromAlert, type QueueItem } from "./queue";

interface Context {
  map: CityMap;
  refresh: () => void;
}

const PURPOSE = "CONTROL-CENTER";

export function incidentNumber(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "").padEnd(3, "0").slice(0, 64);
}

export interface Detail {
  update(item: QueueItem): void;
  stop(): void;
}

export function renderDetail(panel: HTMLElement, item: QueueItem, ctx: Context): Detail {
  const players: Player[] = [];
  const stops: (() => void)[] = [];
  const history = h("ul", { className: "history", "data-testid": "history" });
  const videos = h("div", { className: "videos", "data-testid": "videos" });
  const error = h("p", { className: "error" });
  const actions = h("div", { className: "actions" });
  panel.append(
    h("h3", {}, tDynamic(`kind_${item.kind}`)),
    h("dl", {},
      h("dt", {}, t("raised")), h("dd", {}, kst(item.timeMs)),
      item.lat !== null ? h("dt", {}, t("place")) : null,
      item.lat !== null ? h("dd", {}, `${item.lat?.toFixed(5)}, ${item.lon?.toFixed(5)}`) : null,
      item.district ? h("dt", {}, t("district")) : null, item.district ? h("dd", {}, item.district) : null,
      h("dt", {}, t("reason")), h("dd", {}, item.reason)),
    actions, error, h("h4", {}, t("history")), history);

  // acknowledge / resolve, and the history: redrawn when the item changes state
  let shown = item.status;
  function drawState(current: QueueItem): void {
    shown = current.status;
    panel.dataset.status = current.status;
    clear(actions);
    clear(history);
    if (current.status === "open") {
      actions.append(h("button", { "data-testid": "ack", onclick: async () => {
        const { error: e, response } = current.source === "alert"
          ? await api.POST("/v1/alerts/{alert_id}/ack", { params: { path: { alert_id: current.id } } })
          : await api.POST("/v1/monitor/events/{event_id}/ack", { params: { path: { event_id: current.id } } });
        if (e) error.textContent = errorText(e, response);
        ctx.refresh();
      } }, t("acknowledge")));
    }
    if (current.status !== "resolved") {
      const note = h("input", { "data-testid": "note", placeholder: t("note"), maxlength: 500 });
      actions.append(note, h("button", { "data-testid": "resolve", onclick: async () => {
        const body = { note: note.value.trim() || null };
        if (current.source === "alert") {
          const { data, error: e, response } = await api.POST("/v1/alerts/{alert_id}/resolve", {
            params: { path: { alert_id: current.id } }, body });
          if (e) error.textContent = errorText(e, response);
          if (data) drawState(fromAlert(data)); // it leaves the queue: the panel keeps the resolution
        } else {
          const { error: e, response } = await api.POST("/v1/monitor/events/{event_id}/resolve", {
            params: { path: { event_id: current.id } }, body });
          if (e) error.textContent = errorText(e, response);
        }
        ctx.refresh();
      } }, t("resolve")));
    } else {
      actions.append(h("span", { className: "badge", "data-testid": "resolved" }, t("resolved")));
    }
    void fillHistory(history, current);
  }
  drawState(item);

  // monitoring snapshot
  const snapshot = item.event?.snapshot_url;
  if (snapshot) panel.append(h("img", { className: "snapshot", src: snapshot, alt: item.reason }));

  // the 5 nearest cameras, live or recorded, through signed links bound to the control center's range
  if (item.lat !== null && item.lon !== null) {
    const live = h("button", { "data-testid": "play-live", onclick: () => void loadVideo("live") }, t("live"));
    const recorded = h("button", { "data-testid": "play-recorded", onclick: () => void loadVideo("recorded") }, t("recorded"));
    panel.append(h("h4", {}, t("camerasNearby")), h("div", { className: "actions" }, live, recorded), videos);
    void loadVideo("live");
  }

  async function loadVideo(mode: "live" | "recorded"): Promise<void> {
    players.splice(0).forEach((p) => p.destroy());
    clear(videos);
    const { play } = await import("../video"); // hls.js: fetched with the first video, not with the map
    const now = Date.now();
    const { data, error: e, response } = await api.POST("/v1/console/video-links", { body: {
      incident_number: incidentNumber(item.id), location: { lat: item.lat as number, lon: item.lon as number, accuracy_m: null },
      mode,
      purpose: PURPOSE, officer_id: session.principal || "operator", camera_count: 5, radius_m: 1000, lifetime_s: null,
      window: mode === "recorded" ? { start: new Date(now - 10 * 60_000).toISOString(), end: new Date(now).toISOString() } : null,
    } });
    if (!data) {
      videos.append(h("p", { className: "error" }, errorText(e, response)));
      return;
    }
    if (!data.links.length) videos.append(h("p", {}, data.note ?? t("noVideo")));
    for (const link of data.links) {
      const status = h("span", { className: "link-status" });
      const player = play(link.url, (why) => { status.textContent = why; });
      players.push(player);
      player.element.dataset.camera = link.camera_id;
      player.element.addEventListener("playing", () => { status.textContent = ""; }); // recovered after a retry
      videos.append(h("figure", { "data-testid": "camera-video" }, player.element,
        h("figcaption", {}, `${link.camera_id} · ${Math.round(link.distance_m)} m · ${tDynamic(link.mode === "live" ? "live" : "recorded")} `, status)));
    }
  }

  // one click from a protected-person alert to a missing-person search
  if (item.alert?.search) {
    const box = h("div", { className: "search", "data-testid": "search" });
    const button = h("button", { className: "primary", "data-testid": "start-search", onclick: () => {
      button.setAttribute("disabled", "");
      void import("./search").then(({ runSearch }) => stops.push(runSearch(box, item.id, ctx.map)));
    } }, t("startSearch"));
    panel.append(h("h4", {}, t("startSearch")), button, box);
  }

  return {
    update(next: QueueItem): void {
      if (next.status === shown) return;
      drawState(next);
    },
    stop(): void {
      players.forEach((p) => p.destroy());
      stops.forEach((stop) => stop());
    },
  };
}

async function fillHistory(list: HTMLElement, item: QueueItem): Promise<void> {
  const lines: [number, string][] = [[item.timeMs, t("raised")]];
  const at = (time: string): number => Date.parse(time);
  const alert = item.alert;
  if (alert?.incident_id) {
    const { data } = await api.GET("/v1/incidents", { params: { query: { limit: 200 } } });
    const incident = data?.incidents.find((i) => i.incident_id === alert.incident_id);
    if (incident) {
      lines.push([at(incident.created_at), t("sosPressed")], [at(incident.cancel_deadline_at), t("cancelWindow")]);
      if (incident.cancelled_at) lines.push([at(incident.cancelled_at), t("cancelled")]);
      if (incident.escalated_at) lines.push([at(incident.escalated_at), `${t("escalated")} (${incident.agency})`]);
      if (incident.dispatched_at) lines.push([at(incident.dispatched_at), `${t("dispatched")} · ${t("guardianTold")}`]);
    }
  }
  if (alert?.acked_at) lines.push([at(alert.acked_at), `${t("ackedBy")}: ${alert.acked_by ?? ""}`]);
  if (alert?.resolved_at) {
    lines.push([at(alert.resolved_at), `${t("resolved")} (${alert.resolved_by ?? ""}): ${alert.resolution_note ?? ""}`]);
  }
  const event = item.event?.event;
  if (event?.acked_at) lines.push([at(event.acked_at), `${t("ackedBy")}: ${event.acked_by ?? ""}`]);
  if (event?.resolved_at) lines.push([at(event.resolved_at), `${t("resolved")}: ${event.note ?? ""}`]);
  lines.sort((a, b) => a[0] - b[0]);
  for (const [when, what] of lines) list.append(h("li", {}, h("time", {}, kst(when)), " ", what));
}
