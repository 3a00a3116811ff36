// What a deployment tells the page at start (config.json beside index.html, written by the CDK app): where the API
// is when it is not this page's own origin, and how people sign in. Served beside the API (locally) there is none.

export interface SignInConfig {
  /** The OpenID provider: the Cognito user pool's issuer, https://cognito-idp.<region>.amazonaws.com/<pool id>. */
  authority: string;
  clientId: string;
  scope?: string;
  /** Cognito's hosted-UI logout, which its discovery document does not name. */
  logoutUrl?: string;
}

export interface ConsoleConfig {
  apiUrl?: string;
  signIn?: SignInConfig;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  try {
    const reply = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: "no-cache" });
    if (!reply.ok) return {};
    const body = (await reply.json()) as ConsoleConfig;
    return typeof body === "object" && body !== null ? body : {};
  } catch {
    return {}; // no file, or not JSON: the page and the API share this origin and tokens are typed in
  }
}
