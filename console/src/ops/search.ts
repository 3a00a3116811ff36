// A missing-person search started from a protected-person alert: progress, sightings on a timeline,
// the route on the map, each sighting playable from its recorded footage.
import { api, errorText, session, type SearchAnswer } from "../api/client";
import { h, clear } from "../dom";
import { t } from "../i18n";
import { kst, kstTime } from "../time";
import { play, type Player } from "../video";
import type { CityMap } from "./map";

export function runSearch(box: HTMLElement, alertId: string, map: CityMap): () => void {
  const bar = h("progress", { "data-testid": "search-progress", max: 1, value: 0 });
  const label = h("span", { "data-testid": "search-status" }, t("searching"));
  const timeline = h("ol", { className: "timeline", "data-testid": "timeline" });
  const viewer = h("div", { className: "videos" });
  box.append(h("div", {}, bar, " ", label), timeline, viewer);
  let timer = 0;
  let stopped = false;
  let player: Player | null = null;

  async function start(): Promise<void> {
    const { data, error, response } = await api.POST("/v1/console/alerts/{alert_id}/search", {
      params: { path: { alert_id: alertId } } });
    if (!data) {
      label.textContent = errorText(error, response);
      return;
    }
    box.dataset.searchId = data.search_id;
    show(data);
    follow(data.search_id);
  }

  function follow(searchId: string): void {
    timer = window.setTimeout(async () => {
      const { data } = await api.GET("/v1/searches/{search_id}", { params: { path: { search_id: searchId } } });
      if (stopped) return;
      if (data) show(data);
      if (!data || data.status === "running") follow(searchId);
    }, 1000);
  }

  function show(answer: SearchAnswer): void {
    const total = Math.max(1, answer.shards_total);
    bar.max = total;
    bar.value = answer.shards_done;
    label.textContent = `${answer.status === "running" ? t("searching") : t("searchDone")} ${answer.shards_done}/${answer.shards_total}`;
    box.dataset.status = answer.status;
    if (answer.status === "running") return;
    clear(timeline);
    const hits = [...(answer.hits ?? [])].sort((a, b) => Date.parse(a.start_at) - Date.parse(b.start_at));
    if (!hits.length) timeline.append(h("li", {}, t("noSightings")));
    const where = new Map((answer.route ?? []).map((s) => [s.camera_id, s]));
    for (const hit of hits) {
      const thumb = hit.best.thumbnail_url;
      timeline.append(h("li", { "data-testid": "sighting", title: kst(hit.start_at),
        onclick: () => void replay(hit.camera_id, Date.parse(hit.start_at), Date.parse(hit.end_at)) },
        thumb ? h("img", { src: thumb, alt: hit.camera_id }) : null,
        h("div", {}, h("strong", {}, hit.camera_id), h("br", {}), `${kstTime(hit.start_at)} · ${Math.round(hit.score * 100)}%`),
        h("button", {}, t("play"))));
    }
    map.drawRoute((answer.route ?? []).map((s) => ({ lat: s.location.lat, lon: s.location.lon, camera_id: s.camera_id })));
    box.dataset.routeStops = String((answer.route ?? []).length);

    async function replay(cameraId: string, fromMs: number, toMs: number): Promise<void> {
      const stop = where.get(cameraId);
      if (!stop) return;
      player?.destroy();
      clear(viewer);
      const { data, error, response } = await api.POST("/v1/console/video-links", { body: {
        incident_number: `SEARCH-${answer.search_id.slice(0, 16)}`, location: { lat: stop.location.lat, lon: stop.location.lon, accuracy_m: null },
        mode: "recorded",
        purpose: "MISSING-PERSON", officer_id: session.principal || "operator", camera_count: 1, radius_m: 30, lifetime_s: null,
        window: { start: new Date(fromMs - 5000).toISOString(), end: new Date(toMs + 5000).toISOString() } } });
      const link = data?.links[0];
      if (!link) {
        viewer.append(h("p", { className: "error" }, data?.note ?? errorText(error, response)));
        return;
      }
      player = play(link.url);
      viewer.append(h("figure", { "data-testid": "sighting-video" }, player.element, h("figcaption", {}, `${cameraId} · ${kst(fromMs)}`)));
    }
  }

  void start();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    player?.destroy();
  };
}
