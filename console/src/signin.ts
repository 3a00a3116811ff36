// People's sign-in through the deployment's identity provider (in the cloud the Cognito user pool's hosted UI):
// OAuth 2.0 authorization code with PKCE, done by oidc-client-ts. The API takes the ID token as the bearer token
// and maps it to the principal its custom:principal_id names; the screen follows the user's group.
import { UserManager, WebStorageStateStore, type User } from "oidc-client-ts";
import type { Role } from "./api/client";
import type { SignInConfig } from "./config";

const ROLE_OF_GROUP: Record<string, Role> = { operators: "operator", "health-centers": "health", agencies: "agency" };

/** The console itself (its base URL), registered with the provider as the redirect and logout URL. */
const CONSOLE_URL = new URL(import.meta.env.BASE_URL, location.origin).href;

export function roleOf(user: User): Role | null {
  const groups = user.profile["cognito:groups"];
  for (const group of Array.isArray(groups) ? groups : []) {
    if (typeof group === "string" && group in ROLE_OF_GROUP) return ROLE_OF_GROUP[group];
  }
  return null;
}

export class PeopleSignIn {
  private readonly manager: UserManager;

  constructor(private readonly config: SignInConfig) {
    this.manager = new UserManager({
      authority: config.authority, client_id: config.clientId, redirect_uri: CONSOLE_URL,
      post_logout_redirect_uri: CONSOLE_URL, response_type: "code", scope: config.scope ?? "openid email profile",
      automaticSilentRenew: false, loadUserInfo: false, userStore: new WebStorageStateStore({ store: sessionStorage }),
    });
  }

  /** Off to the provider's sign-in page, in the console's language (Cognito's managed login reads lang); it comes
   * back to the console with ?code=…&state=…. */
  start(lang: string): Promise<void> {
    return this.manager.signinRedirect({ extraQueryParams: { lang } });
  }

  /** On the way back from the provider: the signed-in user (the code exchanged with its PKCE verifier), the
   * address bar cleaned of the code. null when this load is not such a return. */
  async complete(): Promise<User | null> {
    const query = new URLSearchParams(location.search);
    if (!query.has("state") || !(query.has("code") || query.has("error"))) return null;
    try {
      return await this.manager.signinRedirectCallback();
    } finally {
      history.replaceState(null, "", location.pathname + location.hash);
    }
  }

  /** Forgets the user here and, where the provider has a hosted session (Cognito), ends it too. */
  async end(): Promise<void> {
    await this.manager.removeUser();
    if (this.config.logoutUrl) {
      const url = new URL(this.config.logoutUrl);
      url.searchParams.set("client_id", this.config.clientId);
      url.searchParams.set("logout_uri", CONSOLE_URL);
      location.assign(url.href);
    }
  }
}
