// The API client, typed from the platform's OpenAPI document (src/api/schema.d.ts is generated at build time).
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Alert = Schemas["AlertView"];
export type MonitorEventView = Schemas["MonitorEventView"];
export type Incident = Schemas["IncidentView"];
export type VideoLinkGrant = Schemas["VideoLinkGrantView"];
export type SearchAnswer = Schemas["SearchAnswerView"];
export type StudyView = Schemas["StudyView"];
export type StudySummary = Schemas["StudySummary"];

const TOKEN = "gt.token";
const ROLE = "gt.role";
const VIA = "gt.via";
export type Role = "operator" | "agency" | "health";
/** How the token came: typed in (a platform API token) or from the identity provider's sign-in (an ID token). */
export type SignedInVia = "token" | "provider";

/** A JWT's claims, unverified: the page only reads who it names and when it ends; the API verifies it. */
function jwtClaims(token: string): Record<string, unknown> | null {
  const parts = token.split(".");
  if (parts[0] === "gt" || parts.length !== 3) return null;
  try {
    return JSON.parse(atob(parts[1].replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export const session = {
  /** The bearer token, or null when there is none or it has expired. */
  get token(): string | null {
    const token = sessionStorage.getItem(TOKEN);
    return token && this.expiresAt(token) > Date.now() ? token : null;
  },
  get role(): Role {
    return (sessionStorage.getItem(ROLE) as Role | null) ?? "operator";
  },
  get via(): SignedInVia {
    return (sessionStorage.getItem(VIA) as SignedInVia | null) ?? "token";
  },
  /** When the token stops being accepted (ms); platform API tokens do not expire by themselves. */
  expiresAt(token: string | null = sessionStorage.getItem(TOKEN)): number {
    const exp = token ? jwtClaims(token)?.exp : undefined;
    return typeof exp === "number" ? exp * 1000 : Number.POSITIVE_INFINITY;
  },
  /** The principal id a token names: gt.<principal>.<secret>, or a user pool ID token's custom:principal_id. */
  get principal(): string {
    const token = this.token ?? "";
    const claims = jwtClaims(token);
    if (claims) return String(claims["custom:principal_id"] ?? claims["cognito:username"] ?? "");
    return token.split(".")[1] ?? "";
  },
  save(token: string, role: Role, via: SignedInVia = "token"): void {
    sessionStorage.setItem(TOKEN, token);
    sessionStorage.setItem(ROLE, role);
    sessionStorage.setItem(VIA, via);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(VIA);
  },
};

function clientFor(baseUrl: string) {
  const client = createClient<paths>({ baseUrl });
  client.use({
    onRequest({ request }) {
      const token = session.token;
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  });
  return client;
}

/** The API: this page's origin unless the deployment's config names another (useApi). */
export let api = clientFor(location.origin);

export function useApi(baseUrl: string): void {
  api = clientFor(baseUrl.replace(/\/+$/, ""));
}

/** The API's error message, or the HTTP status when there is none. */
export function errorText(error: unknown, response: Response): string {
  const body = error as { error?: { message?: string } } | undefined;
  return body?.error?.message ?? `HTTP ${response.status}`;
}
