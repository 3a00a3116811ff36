// The control-center operator's screen: the city map, the live priority queue and the selected item.
import { h, clear } from "../dom";
import { t, tDynamic } from "../i18n";
import { kst, kstTime } from "../time";
import { CityMap } from "./map";
import { alarm, fetchQueue, POLL_MS, type QueueItem } from "./queue";
import { renderDetail, type Detail } from "./detail";

declare global {
  interface Window {
    __gt?: Record<string, unknown>;
  }
}

export function mountOperator(main: HTMLElement): () => void {
  const mapBox = h("div", { className: "map", "data-testid": "map" });
  const list = h("ol", { className: "queue", "data-testid": "queue" });
  const detail = h("section", { className: "detail", "data-testid": "detail" });
  main.append(h("div", { className: "ops" }, mapBox,
    h("aside", { className: "side" }, h("h2", {}, t("queue")), list, detail)));
  const map = new CityMap(mapBox);
  const gt = (window.__gt = { mapDrawnMs: null as number | null, polls: [] as number[],
    renderedIncidents: (monitor?: boolean) => map.renderedIncidents(monitor),
    center: () => ({ lat: map.map.getCenter().lat, lon: map.map.getCenter().lng }),
    renderedRouteStops: () => map.renderedRouteStops(), renderedDistricts: () => map.renderedDistricts(),
    renderedCameras: () => map.renderedCameras() });
  void map.drawn.then((ms) => { gt.mapDrawnMs = ms; mapBox.dataset.drawn = "true"; });

  let items: QueueItem[] = [];
  let selected: string | null = null;
  const seen = new Set<string>();
  let first = true;
  let shownSignature = "";
  let shownDetail: Detail | null = null;

  function select(id: string): void {
    if (selected === id) return;
    selected = id;
    shownDetail?.stop();
    const item = items.find((i) => i.id === id);
    clear(detail);
    if (!item) return;
    map.select(item.lat !== null && item.lon !== null ? { id, lat: item.lat, lon: item.lon, urgent: item.urgent } : null);
    shownDetail = renderDetail(detail, item, { map, refresh: () => void poll() });
    drawList();
  }
  map.onIncidentClick(select);

  function drawList(): void {
    clear(list);
    if (!items.length) list.append(h("li", { className: "empty" }, t("queueEmpty")));
    for (const item of items) {
      list.append(h("li", {
        className: `item ${item.status} ${item.urgent ? "urgent" : ""} ${item.id === selected ? "selected" : ""}`,
        "data-testid": "queue-item", "data-id": item.id, "data-status": item.status, "data-kind": item.kind,
        onclick: () => select(item.id),
      },
      h("span", { className: "badge" }, item.urgent && item.status === "open" ? t("urgent") : tDynamic(item.status)),
      h("strong", {}, tDynamic(`kind_${item.kind}`)),
      h("time", { "data-testid": "queue-time", title: kst(item.timeMs) }, kstTime(item.timeMs)),
      h("div", { className: "reason" }, [item.district, item.reason].filter(Boolean).join(" · "))));
    }
  }

  let timer = 0;
  let stopped = false;
  async function poll(): Promise<void> {
    window.clearTimeout(timer);
    const started = performance.now();
    try {
      items = await fetchQueue();
      gt.polls.push(performance.now() - started);
    } catch {
      /* the next poll retries */
    }
    if (stopped) return;
    const fresh = items.filter((i) => !seen.has(i.id));
    fresh.forEach((i) => seen.add(i.id));
    if (!first && fresh.some((i) => i.urgent && i.status === "open")) alarm();
    first = false;
    // redraw only on change: the map re-renders on the CPU where there is no GPU
    const signature = items.map((i) => `${i.id}:${i.status}`).join(",");
    if (signature !== shownSignature) {
      shownSignature = signature;
      drawList();
      const current = items.find((i) => i.id === selected);
      if (current) shownDetail?.update(current);
      map.setIncidents(items.filter((i) => i.lat !== null && i.lon !== null && i.status !== "resolved")
        .map((i) => ({ id: i.id, lat: i.lat as number, lon: i.lon as number, urgent: i.urgent, monitor: i.source === "monitor" })));
    }
    timer = window.setTimeout(() => void poll(), POLL_MS);
  }
  void poll();

  return () => {
    stopped = true;
    window.clearTimeout(timer);
    shownDetail?.stop();
    map.remove();
  };
}
