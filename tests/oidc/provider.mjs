// The OpenID provider the integration tests sign in at (tests/it/sso.rs): panva's certified
// `oidc-provider` on loopback, with its built-in development login page (any password).
//
//   node provider.mjs <config.json>
//
// config.json: { "port": 4010,
//                "clients": [{ "client_id", "client_secret", "redirect_uris": [...] }],
//                "accounts": [{ "sub", "email", "email_verified", "name", "groups": [...] }] }
//
// A fresh RSA signing key (with a fresh key id) is made at every start: starting the script
// again on the same port is a key rotation. Test-only endpoints, for what a real provider
// would do between two logins:
//   PUT  /__test/accounts/<sub>  JSON account: changes (or adds) an account (its groups …)
//   POST /__test/forge           JSON {"aud"?, "nonce"?, "exp"?}: the next token response's
//                                ID token carries these claims instead, signed with the
//                                provider's own key (a validly signed token with a wrong
//                                audience or nonce); {} turns it off.
// Prints "listening <issuer>" once it accepts connections.

import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = new Map(config.accounts.map((a) => [a.sub, a]));
let forge = null;

const kid = randomUUID();
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
  })),
  jwks: { keys: [jwk] },
  cookies: { keys: ['portalops-test-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
  },
  // The claims go in the ID token itself (as Keycloak, authentik and Google put them).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Grant: 3600, Interaction: 600, Session: 3600 },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        const a = accounts.get(sub) ?? { sub };
        return { ...a, sub };
      },
    };
  },
  // First-party client: no consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

async function jsonBody(ctx) {
  const chunks = [];
  for await (const c of ctx.req) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/__test/accounts/') && ctx.method === 'PUT') {
    const sub = decodeURIComponent(ctx.path.slice('/__test/accounts/'.length));
    accounts.set(sub, { ...(await jsonBody(ctx)), sub });
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/__test/forge' && ctx.method === 'POST') {
    const f = await jsonBody(ctx);
    forge = Object.keys(f).length ? f : null;
    ctx.status = 204;
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && forge && ctx.body?.id_token) {
    const claims = { ...jose.decodeJwt(ctx.body.id_token), ...forge };
    ctx.body = {
      ...ctx.body,
      id_token: await new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid })
        .sign(privateKey),
    };
    forge = null;
  }
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
