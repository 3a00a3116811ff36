// A health center's screen: its studies with status (from the API's listing, paged), a study with the image
// and the heat map as an overlay (colour scale, finding, opacity), findings against thresholds, and
// drag-and-drop upload.
import { api, errorText, session, type StudySummary, type StudyView } from "./api/client";
import { h, clear } from "./dom";
import { t, tDynamic } from "./i18n";
import { kst } from "./time";

const PAGE = 50;
type StatusFilter = "" | "pending" | "done" | "rejected" | "failed";

// The listing knows studies, not file names: the names of files uploaded from this browser are kept here.
const namesKey = () => `gt.study-names.${session.principal}`;
const originals = new Map<string, string>(); // study id -> object URL of the image uploaded from this page

function names(): Record<string, string> {
  return JSON.parse(localStorage.getItem(namesKey()) ?? "{}") as Record<string, string>;
}

function rememberName(studyId: string, name: string): void {
  const all = names();
  all[studyId] = name;
  const kept = Object.entries(all).slice(-500); // bounded: the oldest names go first
  localStorage.setItem(namesKey(), JSON.stringify(Object.fromEntries(kept)));
}

export function mountHealth(main: HTMLElement): () => void {
  const drop = h("div", { className: "drop", "data-testid": "dropzone" }, t("dropHere"));
  const list = h("table", { className: "studies", "data-testid": "studies" });
  const page = h("section", { className: "study", "data-testid": "study" });
  const openId = h("input", { "data-testid": "study-id", placeholder: "study id" });
  const openForm = h("form", {}, openId, h("button", { type: "submit" }, t("openStudy")));
  const filter = h("select", { "data-testid": "study-filter", "aria-label": t("studyStatus") },
    ...(["", "pending", "done", "rejected", "failed"] as StatusFilter[]).map((v) =>
      h("option", { value: v }, v ? tDynamic(`status_${v}`) : t("allStudies"))));
  const more = h("button", { "data-testid": "more-studies", hidden: true }, t("moreStudies"));
  const listError = h("p", { className: "error" });
  main.append(h("div", { className: "health" },
    h("aside", {}, h("h2", {}, t("studies")), drop, openForm, filter, listError, list, more), page));
  let current: string | null = null;
  let stopped = false;
  let pages = 1; // how many pages of the listing are shown (the "more" button adds one)

  openForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = openId.value.trim();
    if (id) void open(id);
  });
  filter.addEventListener("change", () => { pages = 1; void refresh(); });
  more.addEventListener("click", () => { pages += 1; void refresh(); });

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
    rememberName(data.study_id, file.name);
    await refresh();
    void open(data.study_id);
  }

  /** The first ``pages`` pages of the center's studies, newest first, following next_cursor. */
  async function listing(): Promise<{ studies: StudySummary[]; last: boolean } | null> {
    const status = (filter.value || undefined) as Exclude<StatusFilter, ""> | undefined;
    const studies: StudySummary[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < pages; i++) {
      const { data, error, response } = await api.GET("/v1/xray/studies", {
        params: { query: { limit: PAGE, status, cursor } } });
      if (!data) {
        listError.textContent = errorText(error, response);
        return null;
      }
      studies.push(...data.studies);
      cursor = data.next_cursor ?? undefined;
      if (!cursor) return { studies, last: true };
    }
    return { studies, last: false };
  }

  async function refresh(): Promise<void> {
    const found = await listing();
    if (!found || stopped) return;
    listError.textContent = "";
    const known = names();
    clear(list);
    if (!found.studies.length) list.append(h("tr", {}, h("td", {}, t("studiesEmpty"))));
    for (const s of found.studies) {
      list.append(h("tr", { "data-testid": "study-row", "data-id": s.study_id, "data-status": s.status,
        className: s.study_id === current ? "selected" : "", onclick: () => void open(s.study_id) },
      h("td", {}, known[s.study_id] ?? s.study_id), h("td", {}, kst(s.created_at)),
      h("td", { className: `status ${s.status}` }, tDynamic(`status_${s.status}`)),
      h("td", {}, s.triage ? tDynamic(`triage_${s.triage}`) : "")));
    }
    more.hidden = found.last;
    const shown = found.studies.find((s) => s.study_id === current);
    if (shown && shown.status !== "pending" && page.dataset.status === "pending") void open(shown.study_id);
  }

  async function open(id: string): Promise<void> {
    current = id;
    const { data, error, response } = await api.GET("/v1/xray/studies/{study_id}", { params: { path: { study_id: id } } });
    clear(page);
    if (!data) {
      page.append(h("p", { className: "error" }, errorText(error, response)));
      return;
    }
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
