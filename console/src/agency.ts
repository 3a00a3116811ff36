// An agency's link page: open a link bundle (the answer of POST /v1/video-links, or its request id),
// watch its cameras side by side, the window, the expiry counting down, and "revoked" the moment it is.
import { api, errorText, type VideoLinkGrant } from "./api/client";
import { h, clear } from "./dom";
import { t } from "./i18n";
import { countdown, kst } from "./time";
import { play, type Player } from "./video";

const POLL_MS = 1000;

export function mountAgency(main: HTMLElement): () => void {
  const input = h("textarea", { "data-testid": "bundle", rows: 3, placeholder: t("bundleHint") });
  const error = h("p", { className: "error", "data-testid": "bundle-error" });
  const view = h("section", { className: "bundle", "data-testid": "bundle-view" });
  const form = h("form", { className: "open-bundle" }, h("label", {}, t("bundleHint"), input),
    h("button", { type: "submit", "data-testid": "open-bundle" }, t("openBundle")), error);
  main.append(h("h2", {}, t("linkPage")), form, view);
  let close: (() => void) | null = null;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const text = input.value.trim();
    let requestId = text;
    if (text.startsWith("{")) {
      try {
        requestId = String((JSON.parse(text) as { request_id?: string }).request_id ?? "");
      } catch {
        error.textContent = "JSON?";
        return;
      }
    }
    const { data, error: e, response } = await api.GET("/v1/video-links/{request_id}", { params: { path: { request_id: requestId } } });
    if (!data) {
      error.textContent = errorText(e, response);
      return;
    }
    close?.();
    close = showBundle(view, data);
  });
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("link");
  if (fromHash) {
    input.value = fromHash;
    form.requestSubmit();
  }
  return () => close?.();
}

function showBundle(view: HTMLElement, grant: VideoLinkGrant): () => void {
  clear(view);
  const players: Player[] = [];
  const state = h("strong", { className: "state", "data-testid": "link-state" }, t("active"));
  const left = h("span", { "data-testid": "countdown" });
  const expires = Date.parse(grant.expires_at);
  view.append(h("dl", {},
    h("dt", {}, t("incidentNumber")), h("dd", {}, grant.incident_number),
    grant.window ? h("dt", {}, t("window")) : null,
    grant.window ? h("dd", {}, `${kst(grant.window.start)} – ${kst(grant.window.end)}`) : null,
    h("dt", {}, t("expiresIn")), h("dd", {}, left, ` (${kst(grant.expires_at)})`),
    h("dt", {}, t("state")), h("dd", {}, state)));
  const grid = h("div", { className: "videos grid", "data-testid": "videos" });
  view.append(grid);
  for (const link of grant.links) {
    const player = play(link.url);
    players.push(player);
    grid.append(h("figure", { "data-testid": "camera-video" }, player.element,
      h("figcaption", {}, `${link.camera_id} · ${Math.round(link.distance_m)} m`)));
  }
  let revoked = false;
  function markRevoked(): void {
    if (revoked) return;
    revoked = true;
    state.textContent = t("revoked");
    state.className = "state revoked";
    view.dataset.state = "revoked";
    players.forEach((p) => p.destroy());
  }
  const tick = window.setInterval(() => {
    const seconds = (expires - Date.now()) / 1000;
    left.textContent = seconds > 0 ? countdown(seconds) : t("expired");
  }, 250);
  const poll = window.setInterval(async () => {
    const { data } = await api.GET("/v1/video-links/{request_id}", { params: { path: { request_id: grant.request_id } } });
    if (data?.status === "revoked") markRevoked();
  }, POLL_MS);
  return () => {
    window.clearInterval(tick);
    window.clearInterval(poll);
    players.forEach((p) => p.destroy());
  };
}
