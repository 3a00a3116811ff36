// A health center's screen: its studies with status, a study with the image and the heat map as an
// overlay (colour scale, finding, opacity), findings against thresholds, and drag-and-drop upload.
import { api, errorText, session, type StudyView } from "./api/client";
import { h, clear } from "./dom";
import { t, tDynamic } from "./i18n";
import { kst } from "./time";

interface Known {
  study_id: string;
  created_ms: number;
  name: string;
}

// The API has no study listing yet: the center's own uploads (and studies opened by id) are kept here.
const storageKey = () => `gt.studies.${session.principal}`;
const originals = new Map<string, string>(); // study id -> object URL of the image uploaded from this page

function known(): Known[] {
  return JSON.parse(localStorage.getItem(storageKey()) ?? "[]") as Known[];
}

function remember(study: Known): void {
  const list = known().filter((s) => s.study_id !== study.study_id);
  localStorage.setItem(storageKey(), JSON.stringify([study, ...list].slice(0, 200)));
}

export function mountHealth(main: HTMLElement): () => void {
  const drop = h("div", { className: "drop", "data-testid": "dropzone" }, t("dropHere"));
  const list = h("table", { className: "studies", "data-testid": "studies" });
  const page = h("section", { className: "study", "data-testid": "study" });
  const openId = h("input", { "data-testid": "study-id", placeholder: "study id" });
  const openForm = h("form", {}, openId, h("button", { type: "submit" }, t("openStudy")));
  main.append(h("div", { className: "health" },
    h("aside", {}, h("h2", {}, t("studies")), drop, openForm, list), page));
  const statuses = new Map<string, StudyView>();
  let current: string | null = null;
  let stopped = false;

  openForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = openId.value.trim();
    if (!id) return;
    remember({ study_id: id, created_ms: Date.now(), name: id });
    void open(id);
  });

  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    for (const file of Array.from(event.dataTransfer?.files ?? [])) void upload(file);
  });

  async function upload(file: File): Promise<void> {
    drop.textContent = `${t("uploading")}: ${file.name}`;
    const { data, error, response } = await api.POST("/v1/xray/studies", { body: { filename: file.name } });
    if (!data) {
      drop.textContent = errorText(error, response);
      return;
    }
    const form = new FormData();
    Object.entries(data.upload.fields).forEach(([k, v]) => form.append(k, v));
    form.append("file", file);
    const sent = await fetch(data.upload.url, { method: "POST", body: form });
    drop.textContent = sent.ok ? t("dropHere") : `upload ${sent.status}`;
    if (/\.(png|jpe?g)$/i.test(file.name)) originals.set(data.study_id, URL.createObjectURL(file));
    remember({ study_id: data.study_id, created_ms: Date.now(), name: file.name });
    await refresh();
    void open(data.study_id);
  }

  async function refresh(): Promise<void> {
    const studies = known();
    await Promise.all(studies.map(async (s) => {
      const cached = statuses.get(s.study_id);
      if (cached && cached.status !== "pending") return;
      const { data } = await api.GET("/v1/xray/studies/{study_id}", { params: { path: { study_id: s.study_id } } });
      if (data) statuses.set(s.study_id, data);
    }));
    clear(list);
    if (!studies.length) list.append(h("tr", {}, h("td", {}, t("studiesEmpty"))));
    for (const s of studies) {
      const view = statuses.get(s.study_id);
      list.append(h("tr", { "data-testid": "study-row", "data-id": s.study_id, onclick: () => void open(s.study_id) },
        h("td", {}, s.name), h("td", {}, kst(s.created_ms)),
        h("td", { className: `status ${view?.status ?? ""}` }, view ? tDynamic(`status_${view.status}`) : "…"),
        h("td", {}, view?.reading ? tDynamic(`triage_${view.reading.triage}`) : "")));
    }
    if (current && statuses.get(current)?.status !== "pending" && page.dataset.status === "pending") void open(current);
  }

  async function open(id: string): Promise<void> {
    current = id;
    const { data, error, response } = await api.GET("/v1/xray/studies/{study_id}", { params: { path: { study_id: id } } });
    clear(page);
    if (!data) {
      page.append(h("p", { className: "error" }, errorText(error, response)));
      return;
    }
    statuses.set(id, data);
    page.dataset.status = data.status;
    renderStudy(page, data, originals.get(id));
  }

  let timer = 0;
  const loop = async () => {
    await refresh();
    if (!stopped) timer = window.setTimeout(() => void loop(), 1500);
  };
  void loop();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

function renderStudy(page: HTMLElement, study: StudyView, original: string | undefined): void {
  page.append(h("h2", {}, `${tDynamic(`status_${study.status}`)} · ${study.study_id}`));
  const reading = study.reading;
  if (study.reason) page.append(h("p", { className: "error" }, `${study.reason.code}: ${study.reason.message}`));
  if (!reading) return;
  if (!reading.model.clinical) page.append(h("div", { className: "banner", "data-testid": "non-clinical" }, t("nonClinical")));
  const top = [...reading.findings].sort((a, b) => b.score - a.score)[0];
  page.append(h("p", {}, `${t("model")}: `, h("strong", { "data-testid": "model" }, `${reading.model.name} ${reading.model.version}`),
    ` · ${t("triage")}: `, h("strong", { className: `triage ${reading.triage}` }, tDynamic(`triage_${reading.triage}`))));

  const stage = h("div", { className: "xray", "data-testid": "xray-image" });
  if (original) stage.append(h("img", { className: "original", src: original, alt: "X-ray" }));
  else stage.append(h("p", { className: "hint" }, t("noImage")));
  const heatmap = study.links?.heatmap;
  if (heatmap) {
    const overlay = h("img", { className: original ? "overlay" : "original", src: heatmap, alt: t("heatmap"), "data-testid": "heatmap" });
    overlay.style.opacity = "0.6";
    stage.append(overlay);
    const slider = h("input", { type: "range", min: 0, max: 100, value: 60, "data-testid": "opacity" });
    slider.addEventListener("input", () => { overlay.style.opacity = String(Number(slider.value) / 100); });
    page.append(stage, h("div", { className: "legend", "data-testid": "legend" },
      h("span", {}, `${t("finding")}: `, h("strong", {}, top?.label ?? "-")),
      h("span", {}, t("colourScale")), h("span", { className: "scale" }), h("span", {}, "0 – 1"),
      h("label", {}, `${t("opacity")} `, slider)));
  } else {
    page.append(stage);
  }
  const table = h("table", { className: "findings", "data-testid": "findings" },
    h("tr", {}, h("th", {}, t("findings")), h("th", {}, t("score")), h("th", {}, t("threshold")), h("th", {}, "")));
  for (const f of reading.findings) {
    table.append(h("tr", { className: f.positive ? "positive" : "" }, h("td", {}, f.label), h("td", {}, f.score.toFixed(3)),
      h("td", {}, f.threshold.toFixed(3)), h("td", {}, f.positive ? t("positive") : t("negative"))));
  }
  page.append(table);
}
