import "maplibre-gl/dist/maplibre-gl.css";
import "./style.css";
import { api, session, type Role } from "./api/client";
import { clear, h } from "./dom";
import { currentLang, setLang, t } from "./i18n";
import type { Lang } from "./messages";
import { mountAgency } from "./agency";
import { mountHealth } from "./health";
import { mountOperator } from "./ops/operator";

const root = document.getElementById("app") as HTMLDivElement;
let unmount: (() => void) | null = null;

function header(): HTMLElement {
  const lang = h("select", { "data-testid": "lang", "aria-label": t("language") },
    h("option", { value: "ko" }, "한국어"), h("option", { value: "en" }, "English"));
  lang.value = currentLang();
  lang.addEventListener("change", () => {
    setLang(lang.value as Lang);
    render();
  });
  return h("header", { className: "top" },
    h("h1", {}, t("title")),
    h("span", { className: "spacer" }),
    session.token ? h("span", { className: "who", "data-testid": "who" }, session.principal) : null,
    lang,
    session.token ? h("button", { onclick: () => { session.clear(); render(); } }, t("signOut")) : null);
}

function signIn(): HTMLElement {
  const token = h("input", { type: "password", name: "token", "data-testid": "token", autocomplete: "off", required: true });
  const role = h("select", { name: "role", "data-testid": "role" },
    h("option", { value: "operator" }, t("roleOperator")),
    h("option", { value: "agency" }, t("roleAgency")),
    h("option", { value: "health" }, t("roleHealth")));
  const role0 = new URLSearchParams(location.hash.slice(1)).get("role");
  if (role0) role.value = role0;
  const message = h("p", { className: "error", "data-testid": "signin-error" });
  const form = h("form", { className: "signin" },
    h("label", {}, t("token"), token), h("label", {}, t("role"), role),
    h("button", { type: "submit", "data-testid": "signin" }, t("signIn")), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    session.save(token.value.trim(), role.value as Role);
    // any principal may ask for the nearest camera: the token (and the caller's address) are checked
    const { response } = await api.GET("/v1/cameras/nearby", { params: { query: { lat: 37.5665, lon: 126.978, k: 1 } } });
    if (response.status === 401 || response.status === 403) {
      session.clear();
      message.textContent = t("badToken");
      return;
    }
    render();
  });
  return form;
}

function render(): void {
  unmount?.();
  unmount = null;
  clear(root);
  document.title = t("title");
  root.append(header());
  const main = h("main", { "data-testid": "main" });
  root.append(main);
  if (!session.token) {
    main.append(signIn());
    return;
  }
  const mounts: Record<Role, (into: HTMLElement) => () => void> = {
    operator: mountOperator, agency: mountAgency, health: mountHealth,
  };
  unmount = mounts[session.role](main);
}

setLang(currentLang());
render();
