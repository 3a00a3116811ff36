// An OpenID provider on loopback for the browser tests: panva's oidc-provider (OpenID Certified), configured as the
// console's Cognito user pool client is: a public client, authorization code with PKCE (S256) required, ID tokens
// carrying what Cognito puts in them (token_use, cognito:groups, cognito:username, custom:principal_id).
// Its own sign-in page (devInteractions) stands for the hosted UI. Nothing here is our code's.
//
//   OIDC_CLIENT_ID=… OIDC_REDIRECT_URI=… OIDC_ACCOUNTS='{"kim":{"principal_id":"op-1","groups":["operators"]}}' \
//     node test/oidc-provider.mjs      → prints {"issuer": "http://127.0.0.1:<port>"} once it listens
import http from "node:http";
import Provider from "oidc-provider";

const accounts = JSON.parse(process.env.OIDC_ACCOUNTS ?? "{}");
const server = http.createServer();
server.listen(Number(process.env.OIDC_PORT ?? 0), "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: process.env.OIDC_CLIENT_ID, token_endpoint_auth_method: "none",
      redirect_uris: [process.env.OIDC_REDIRECT_URI], post_logout_redirect_uris: [process.env.OIDC_REDIRECT_URI],
      grant_types: ["authorization_code"], response_types: ["code"],
    }],
    pkce: { methods: ["S256"], required: () => true },
    scopes: ["openid", "email", "profile"],
    claims: { openid: ["sub", "token_use", "cognito:username", "cognito:groups", "custom:principal_id"],
              email: ["email"], profile: [] },
    conformIdTokenClaims: false, // the claims in the ID token itself, as Cognito's
    // the token endpoint answers the console's origin (Cognito's token endpoint answers browsers' CORS too)
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris.some((uri) => new URL(uri).origin === origin),
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, sub) {
      const account = accounts[sub];
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, token_use: "id", "cognito:username": sub, "cognito:groups": account.groups,
                               "custom:principal_id": account.principal_id, email: `${sub}@example.go.kr` }),
      };
    },
    // a first-party client: no consent screen, as Cognito's hosted UI shows none
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId,
                                                  accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope("openid email profile");
      await grant.save();
      return grant;
    },
  });
  server.on("request", provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
