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
export type Role = "operator" | "agency" | "health";

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN);
  },
  get role(): Role {
    return (sessionStorage.getItem(ROLE) as Role | null) ?? "operator";
  },
  /** The principal id a token names: gt.<principal>.<secret>, or a user pool ID token's custom:principal_id. */
  get principal(): string {
    const parts = (this.token ?? "").split(".");
    if (parts[0] !== "gt" && parts.length === 3) {
      try {
        const claims = JSON.parse(atob(parts[1].replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
        return String(claims["custom:principal_id"] ?? claims["cognito:username"] ?? "");
      } catch {
        return "";
      }
    }
    return parts[1] ?? "";
  },
  save(token: string, role: Role): void {
    sessionStorage.setItem(TOKEN, token);
    sessionStorage.setItem(ROLE, role);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN);
  },
};

export const api = createClient<paths>({ baseUrl: location.origin });
api.use({
  onRequest({ request }) {
    const token = session.token;
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
});

/** The API's error message, or the HTTP status when there is none. */
export function errorText(error: unknown, response: Response): string {
  const body = error as { error?: { message?: string } } | undefined;
  return body?.error?.message ?? `HTTP ${response.status}`;
}
