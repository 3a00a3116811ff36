// The city map: no basemap by default (it must work offline); districts and cameras come from the API as
// GeoJSON. A basemap tile URL is an optional setting for deployments that have one.
import "maplibre-gl/dist/maplibre-gl.css";
import maplibregl, { type GeoJSONSource, type StyleSpecification } from "maplibre-gl";
import type { Feature, FeatureCollection } from "geojson";
import { api } from "../api/client";

export const BASEMAP_SETTING = "gt.basemap";
const SEOUL: [number, number] = [126.99, 37.55];
type Collection = FeatureCollection;
const EMPTY: Collection = { type: "FeatureCollection", features: [] };

export interface MapPoint {
  id: string;
  lat: number;
  lon: number;
  urgent: boolean;
  /** A selective-monitoring event (drawn violet) rather than a safe-return alert. */
  monitor?: boolean;
}

function style(): StyleSpecification {
  const tiles = localStorage.getItem(BASEMAP_SETTING);
  const spec: StyleSpecification = {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#0f1720" } }],
  };
  if (tiles) {
    spec.sources.basemap = { type: "raster", tiles: [tiles], tileSize: 256 };
    spec.layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  return spec;
}

export class CityMap {
  readonly map: maplibregl.Map;
  private cameraRequest = 0;
  private onSelect: (id: string) => void = () => undefined;
  /** Resolves, with ms since the page's navigation started, when districts and the first cameras are drawn. */
  readonly drawn: Promise<number>;

  constructor(container: HTMLElement) {
    this.map = new maplibregl.Map({ container, style: style(), center: SEOUL, zoom: 10.3, attributionControl: false });
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
    this.drawn = new Promise((resolve) => {
      this.map.on("load", async () => {
        this.addLayers();
        await Promise.all([this.loadDistricts(), this.loadCameras()]);
        this.map.once("idle", () => resolve(performance.now()));
        this.map.triggerRepaint();
      });
    });
    let timer = 0;
    this.map.on("moveend", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void this.loadCameras(), 150);
    });
  }

  private addLayers(): void {
    const m = this.map;
    for (const id of ["districts", "cameras", "incidents", "selected", "route"]) {
      m.addSource(id, { type: "geojson", data: EMPTY });
    }
    m.addLayer({ id: "district-fill", type: "fill", source: "districts", paint: { "fill-color": "#1e3a5f", "fill-opacity": 0.25 } });
    m.addLayer({ id: "district-line", type: "line", source: "districts", paint: { "line-color": "#5b8bd0", "line-width": 1 } });
    m.addLayer({
      id: "cameras", type: "circle", source: "cameras",
      paint: {
        "circle-color": ["case", ["get", "cluster"], "#2f9e8f", "#7fd1c7"],
        "circle-radius": ["case", ["get", "cluster"], ["interpolate", ["linear"], ["get", "point_count"], 2, 3, 100, 8, 2000, 16], 3],
        "circle-opacity": 0.75,
      },
    });
    m.addLayer({ id: "route-line", type: "line", source: "route", filter: ["==", ["geometry-type"], "LineString"],
      paint: { "line-color": "#ffd43b", "line-width": 4 } });
    m.addLayer({ id: "route-stops", type: "circle", source: "route", filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-color": "#ffd43b", "circle-radius": 6, "circle-stroke-color": "#000", "circle-stroke-width": 1 } });
    m.addLayer({
      id: "incidents", type: "circle", source: "incidents",
      // monitoring events violet (an urgent one ringed in red), alerts red when urgent, else orange
      paint: { "circle-color": ["case", ["get", "monitor"], "#b57bff", ["get", "urgent"], "#ff3b30", "#ff9f0a"],
        "circle-radius": ["case", ["get", "monitor"], 8, 9],
        "circle-stroke-color": ["case", ["all", ["get", "monitor"], ["get", "urgent"]], "#ff3b30", "#fff"],
        "circle-stroke-width": ["case", ["get", "monitor"], 3, 2] },
    });
    m.addLayer({ id: "selected", type: "circle", source: "selected",
      paint: { "circle-color": "rgba(0,0,0,0)", "circle-radius": 16, "circle-stroke-color": "#fff", "circle-stroke-width": 3 } });
    m.on("click", "incidents", (event) => {
      const id = event.features?.[0]?.properties?.id;
      if (typeof id === "string") this.onSelect(id);
    });
  }

  private source(id: string): GeoJSONSource | undefined {
    return this.map.getSource(id) as GeoJSONSource | undefined;
  }

  private async loadDistricts(): Promise<void> {
    const { data } = await api.GET("/v1/console/map/districts");
    if (data) this.source("districts")?.setData(data as unknown as Collection);
  }

  private async loadCameras(): Promise<void> {
    const b = this.map.getBounds();
    const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
    const request = ++this.cameraRequest;
    const { data } = await api.GET("/v1/console/map/cameras", { params: { query: {
      south: clamp(b.getSouth(), -90, 89.9), north: clamp(b.getNorth(), -89.9, 90),
      west: clamp(b.getWest(), -180, 179.9), east: clamp(b.getEast(), -179.9, 180), max_points: 3000,
    } } });
    if (data && request === this.cameraRequest) this.source("cameras")?.setData(data as unknown as Collection);
  }

  onIncidentClick(handler: (id: string) => void): void {
    this.onSelect = handler;
  }

  setIncidents(points: MapPoint[]): void {
    this.source("incidents")?.setData({ type: "FeatureCollection", features: points.map((p) => ({
      type: "Feature", geometry: { type: "Point", coordinates: [p.lon, p.lat] }, properties: { id: p.id, urgent: p.urgent, monitor: p.monitor === true },
    })) });
  }

  select(point: MapPoint | null): void {
    this.source("selected")?.setData(point ? { type: "FeatureCollection", features: [{
      type: "Feature", geometry: { type: "Point", coordinates: [point.lon, point.lat] }, properties: { id: point.id },
    }] } : EMPTY);
    if (point) this.map.easeTo({ center: [point.lon, point.lat], zoom: Math.max(this.map.getZoom(), 14), duration: 300 });
  }

  drawRoute(stops: { lat: number; lon: number; camera_id: string }[]): void {
    const features: Feature[] = stops.map((s) => ({
      type: "Feature", geometry: { type: "Point", coordinates: [s.lon, s.lat] }, properties: { camera_id: s.camera_id },
    }));
    if (stops.length > 1) {
      features.push({ type: "Feature", properties: {},
        geometry: { type: "LineString", coordinates: stops.map((s) => [s.lon, s.lat]) } });
    }
    this.source("route")?.setData({ type: "FeatureCollection", features });
    if (stops.length) {
      const bounds = new maplibregl.LngLatBounds();
      stops.forEach((s) => bounds.extend([s.lon, s.lat]));
      this.map.fitBounds(bounds, { padding: 80, maxZoom: 16, duration: 0 });
    }
  }

  /** Ids of the incident points actually drawn on the canvas now (tests read this); ``monitor`` only events. */
  renderedIncidents(monitor?: boolean): string[] {
    return this.map.queryRenderedFeatures({ layers: ["incidents"] })
      .filter((f) => monitor === undefined || f.properties?.monitor === monitor).map((f) => String(f.properties?.id));
  }

  /** District codes drawn now, and the cameras the drawn camera points stand for. */
  renderedDistricts(): string[] {
    return [...new Set(this.map.queryRenderedFeatures({ layers: ["district-fill"] }).map((f) => String(f.properties?.code)))];
  }

  renderedCameras(): { clusters: number; singles: number } {
    const drawn = this.map.queryRenderedFeatures({ layers: ["cameras"] });
    const clusters = drawn.filter((f) => f.properties?.cluster === true).length;
    return { clusters, singles: drawn.length - clusters };
  }

  renderedRouteStops(): number {
    return this.map.queryRenderedFeatures({ layers: ["route-stops"] }).length;
  }

  remove(): void {
    this.map.remove();
  }
}
