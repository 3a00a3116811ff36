import "./style.css";
import { api, session, useApi, type Role } from "./api/client";
import { loadConfig } from "./config";
import { clear, h } from "./dom";
import { currentLang, setLang, t } from "./i18n";
import type { Lang, MessageKey } from "./messages";
import type { PeopleSignIn } from "./signin";

type Mount = (into: HTMLElement) => () => void;
// Each role's screen is its own chunk, fetched after sign-in: a health center never downloads the map
// (MapLibre) and the sign-in form needs none of them.
const screens: Record<Role, () => Promise<Mount>> = {
  operator: () => import("./ops/operator").then((m) => m.mountOperator),
  agency: () => import("./agency").then((m) => m.mountAgency),
  health: () => import("./health").then((m) => m.mountHealth),
};

const root = document.getElementById("app") as HTMLDivElement;
let unmount: (() => void) | null = null;
let rendering = 0; // a newer render (a sign-out, a language change) wins over a screen still loading
let people: PeopleSignIn | null = null; // the deployment's identity provider, when its config names one
let signInProblem: { key: MessageKey; detail?: string } | null = null;
let expiry: ReturnType<typeof setTimeout> | undefined;

async function signOut(): Promise<void> {
  const viaProvider = session.via === "provider";
  session.clear();
  render();
  if (viaProvider) await people?.end();
}

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
    session.token ? h("button", { "data-testid": "signout", onclick: () => void signOut() }, t("signOut")) : null);
}

function signIn(): HTMLElement {
  const token = h("input", { type: "password", name: "token", "data-testid": "token", autocomplete: "off", required: true });
  const role = h("select", { name: "role", "data-testid": "role" },
    h("option", { value: "operator" }, t("roleOperator")),
    h("option", { value: "agency" }, t("roleAgency")),
    h("option", { value: "health" }, t("roleHealth")));
  const role0 = new URLSearchParams(location.hash.slice(1)).get("role");
  if (role0) role.value = role0;
  const message = h("p", { className: "error", "data-testid": "signin-error" },
    signInProblem ? [t(signInProblem.key), signInProblem.detail].filter(Boolean).join(": ") : "");
  const provider = people;
  const form = h("form", { className: "signin" },
    provider ? h("button", { type: "button", className: "primary", "data-testid": "signin-provider",
                             onclick: () => void provider.start(currentLang()) }, t("signInWithAccount")) : null,
    provider ? h("p", { className: "muted" }, t("orWithToken")) : null,
    h("label", {}, t("token"), token), h("label", {}, t("role"), role),
    h("button", { type: "submit", "data-testid": "signin" }, t("signIn")), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    signInProblem = null;
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
  const generation = ++rendering;
  unmount?.();
  unmount = null;
  clear(root);
  document.title = t("title");
  root.append(header());
  const main = h("main", { "data-testid": "main" });
  root.append(main);
  clearTimeout(expiry);
  const left = session.expiresAt() - Date.now();
  if (session.token && left < 2 ** 31) expiry = setTimeout(() => { signInProblem = { key: "signInExpired" }; render(); }, left);
  if (!session.token) {
    main.append(signIn());
    return;
  }
  void screens[session.role]().then((mount) => {
    if (generation === rendering) unmount = mount(main);
  });
}

/** The deployment's config first (where the API is, how people sign in), then a return from the provider's
 * sign-in page, then the screen. */
async function boot(): Promise<void> {
  setLang(currentLang());
  const config = await loadConfig();
  if (config.apiUrl) useApi(config.apiUrl);
  if (config.signIn) {
    const { PeopleSignIn, roleOf } = await import("./signin"); // its own chunk: token-only deployments skip it
    people = new PeopleSignIn(config.signIn);
    try {
      const user = await people.complete();
      const role = user ? roleOf(user) : null;
      if (user && role && user.id_token) session.save(user.id_token, role, "provider");
      else if (user) signInProblem = { key: "signInNoRole" };
    } catch (error) {
      signInProblem = { key: "signInFailed", detail: error instanceof Error ? error.message : String(error) };
    }
  }
  render();
}

void boot();
