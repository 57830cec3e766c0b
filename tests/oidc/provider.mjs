// Test-only OpenID Connect provider for Portcullis' SSO tests.
//
// Built on the certified `oidc-provider` (8.x) with an in-memory store, so every start is a
// clean slate. NEVER expose it: it accepts any password for the fixture accounts, allows open
// dynamic client registration and has a hook that forges ID tokens on request.
//
// Environment:
//   OIDC_PORT           required; TCP port on 127.0.0.1 (0 = pick a free port)
//   OIDC_ISSUER         default http://127.0.0.1:<port>  (an origin, no path)
//   OIDC_ID_TOKEN_TTL   ID token lifetime in seconds, default 300
//
// Prints exactly one line to stdout, `ready <issuer>`, once it is listening; everything
// else (oidc-provider notices, errors) goes to stderr. Exits 0 on SIGTERM / SIGINT.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import {
  decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT,
} from 'jose';
import Provider, { errors } from 'oidc-provider';

// Keep stdout for the single `ready` line: oidc-provider prints notices with console.info.
console.log = console.error; // eslint-disable-line no-console
console.info = console.error; // eslint-disable-line no-console

function fail(message) {
  process.stderr.write(`provider.mjs: ${message}\n`);
  process.exit(2);
}

const portText = process.env.OIDC_PORT;
if (portText === undefined || !/^\d+$/.test(portText) || Number(portText) > 65535) {
  fail('OIDC_PORT must be set to a TCP port number (0 picks a free one)');
}
const ttlText = process.env.OIDC_ID_TOKEN_TTL ?? '300';
if (!/^\d+$/.test(ttlText) || Number(ttlText) < 1) {
  fail('OIDC_ID_TOKEN_TTL must be a positive number of seconds');
}
const ID_TOKEN_TTL = Number(ttlText);

// --- fixture accounts ---------------------------------------------------------------------
const ACCOUNTS = JSON.parse(readFileSync(new URL('./accounts.json', import.meta.url), 'utf8'));

function accountClaims(id) {
  const a = ACCOUNTS[id];
  return {
    sub: id,
    preferred_username: a.preferred_username ?? id,
    name: a.name,
    email: a.email,
    email_verified: a.email_verified ?? true,
    groups: a.groups ?? [],
  };
}

function hasAccount(id) {
  return typeof id === 'string' && Object.prototype.hasOwnProperty.call(ACCOUNTS, id);
}

// --- signing key ------------------------------------------------------------------------
const KID = `test-${randomBytes(6).toString('hex')}`;
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const privateJwk = { ...(await exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
const signingKey = await importJWK(privateJwk, 'RS256');

// --- listen first (so OIDC_PORT=0 works), then build the provider for the real port ------
let handler = (req, res) => { res.statusCode = 503; res.end(); };
const server = createServer((req, res) => handler(req, res));
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(portText), '127.0.0.1', resolve);
});
const { port } = server.address();
const ISSUER = (process.env.OIDC_ISSUER || `http://127.0.0.1:${port}`).replace(/\/+$/, '');

// A fixed machine client for the OAuth2 connector tests (client credentials only).
const MACHINE_CLIENT = {
  client_id: 'portcullis-machine',
  client_secret: 'machine-secret',
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
};

// CI-style tokens: a client registered with `ci_claims` (an object) gets them in its JWT
// access tokens, as GitHub Actions puts `repository` and `ref` in its job tokens, and
// `ci_token_ttl` (seconds) sets their lifetime.
const CI_METADATA = ['ci_claims', 'ci_token_ttl'];

const configuration = {
  clients: [MACHINE_CLIENT],
  extraClientMetadata: {
    properties: CI_METADATA,
    validator(ctx, key, value) {
      if (value === undefined) return;
      if (key === 'ci_claims' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
        throw new errors.InvalidClientMetadata('ci_claims must be an object');
      }
      if (key === 'ci_token_ttl' && !(Number.isInteger(value) && value > 0)) {
        throw new errors.InvalidClientMetadata('ci_token_ttl must be a positive integer');
      }
    },
  },
  async extraTokenClaims(ctx, token) {
    const client = token.clientId ? await provider.Client.find(token.clientId) : undefined;
    return client?.ci_claims ?? undefined;
  },
  jwks: { keys: [privateJwk] },
  findAccount(ctx, id) {
    if (!hasAccount(id)) return undefined;
    return { accountId: id, claims: async () => accountClaims(id) };
  },
  scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // Scope-requested claims (groups included) go into the ID token itself.
  conformIdTokenClaims: false,
  pkce: { methods: ['S256'], required: () => true },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true, initialAccessToken: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // oidc-provider's default policy, spelled out to silence its start-up notice.
      allowedPolicy: (ctx, client, token) => !(client.clientAuthMethod === 'none'
        && token.clientId !== ctx.oidc.client.clientId),
    },
    revocation: { enabled: true },
    // client_credentials without `resource` gets an opaque token; with
    // `resource=<any absolute URI>` a JWT access token (aud = that URI, RS256, same key).
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      getResourceServerInfo: (ctx, resource, client) => ({
        scope: 'api:read api:write',
        audience: resource,
        accessTokenTTL: client?.ci_token_ttl ?? 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // Plain http on 127.0.0.1: oidc-provider only marks cookies Secure when the request is
  // secure, but its default SameSite=None for the session cookie is dropped by Chromium
  // without Secure, so use Lax for both.
  cookies: {
    keys: [randomBytes(32).toString('hex')],
    long: { signed: true, httpOnly: true, sameSite: 'lax' },
    short: { signed: true, httpOnly: true, sameSite: 'lax' },
  },
  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || 3600,
    AuthorizationCode: 60,
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL || 600,
    DeviceCode: 600,
    BackchannelAuthenticationRequest: 600,
    Grant: 3600,
    IdToken: ID_TOKEN_TTL,
    Interaction: 3600,
    RefreshToken: 86400,
    Session: 86400,
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<pre id="error">${esc(JSON.stringify(out, null, 2))}</pre>`);
  },
};

const provider = new Provider(ISSUER, configuration);

// --- helpers ---------------------------------------------------------------------------
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)} - Test OIDC Provider</title></head>
<body><h1>${esc(title)}</h1>
${body}
</body></html>
`;
}

async function readBody(ctx, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > limit) ctx.throw(413, 'body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function loginForm(ctx, uid, details, error) {
  const client = details.params.client_id;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = page('Sign in', `<p>Client: <code id="client">${esc(client)}</code></p>
${error ? `<p id="error" role="alert">${esc(error)}</p>\n` : ''}<form method="post" action="/interaction/${esc(uid)}/login">
  <label for="login">Username</label> <input name="login" id="login" autocomplete="username" autofocus>
  <label for="password">Password</label> <input name="password" id="password" type="password" autocomplete="current-password">
  <button type="submit" id="submit">Sign in</button>
</form>
<p><a id="cancel" href="/interaction/${esc(uid)}/abort">Cancel</a></p>`);
}

// Grants everything the authorization request asked for: no consent screen.
async function grantAll(details, accountId) {
  const { params } = details;
  let grant;
  if (details.grantId) grant = await provider.Grant.find(details.grantId);
  if (!grant) grant = new provider.Grant({ accountId, clientId: params.client_id });
  if (params.scope) grant.addOIDCScope(params.scope);
  const missing = details.prompt?.details ?? {};
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (params.claims) {
    try {
      const requested = JSON.parse(params.claims);
      const names = new Set([
        ...Object.keys(requested.id_token ?? {}), ...Object.keys(requested.userinfo ?? {}),
      ]);
      if (names.size) grant.addOIDCClaims([...names]);
    } catch { /* oidc-provider has already validated it */ }
  }
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function finish(ctx, result) {
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  });
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(returnTo);
  ctx.status = 303;
}

// --- test-only tamper hook ---------------------------------------------------------------
// client_id (or '*' for any client) -> { claims, foreignKey }, each one shot. Keyed by
// client so tests running in parallel, each with its own client, do not interfere.
const tampers = new Map();

async function forgeIdToken(idToken, { claims, foreignKey }) {
  const header = decodeProtectedHeader(idToken);
  const payload = { ...decodeJwt(idToken) };
  for (const [name, value] of Object.entries(claims)) {
    if (value === null) delete payload[name];
    else payload[name] = value;
  }
  const key = foreignKey ? (await generateKeyPair('RS256')).privateKey : signingKey;
  return new SignJWT(payload).setProtectedHeader({ ...header, alg: 'RS256', kid: KID }).sign(key);
}

// --- routes in front of oidc-provider's own (provider.use inserts before them) -------------
const INTERACTION = /^\/interaction\/([^/]+)(\/login|\/abort)?$/;

provider.use(async (ctx, next) => {
  // Test hooks.
  if (ctx.path === '/__test/health' && ctx.method === 'GET') {
    ctx.type = 'text';
    ctx.body = 'ok';
    return;
  }
  if (ctx.path === '/__test/tamper') {
    if (ctx.method === 'DELETE') {
      const clientId = ctx.query.client_id;
      if (clientId) tampers.delete(clientId);
      else tampers.clear();
      ctx.body = { armed: false };
      return;
    }
    if (ctx.method === 'POST') {
      let body;
      try {
        body = JSON.parse((await readBody(ctx)) || '{}');
      } catch {
        ctx.throw(400, 'body must be JSON: {"claims": {...}, "foreign_key": false}');
      }
      const claims = body.claims ?? {};
      if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
        ctx.throw(400, '"claims" must be an object');
      }
      const clientId = typeof body.client_id === 'string' && body.client_id ? body.client_id : '*';
      tampers.set(clientId, { claims, foreignKey: body.foreign_key === true });
      ctx.body = { armed: true, client_id: clientId, claims, foreign_key: body.foreign_key === true };
      return;
    }
    ctx.throw(405);
  }

  // Login interaction (login and consent in one step).
  const m = INTERACTION.exec(ctx.path);
  if (m) {
    const [, uid, action] = m;
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== uid) throw new Error('interaction cookie does not match the URL');
    } catch (err) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = page('Interaction error', `<p id="error">${esc(err.message)} (start again from the application)</p>`);
      return;
    }

    if (!action && ctx.method === 'GET') {
      // Already signed in (session cookie) and only consent is missing: grant it silently.
      if (details.prompt.name !== 'login' && details.session?.accountId) {
        const grantId = await grantAll(details, details.session.accountId);
        return finish(ctx, { consent: { grantId } });
      }
      return loginForm(ctx, uid, details);
    }
    if (action === '/login' && ctx.method === 'POST') {
      const form = new URLSearchParams(await readBody(ctx));
      const login = (form.get('login') ?? '').trim();
      if (!hasAccount(login)) {
        ctx.status = 401;
        return loginForm(ctx, uid, details, `Unknown user "${login}".`);
      }
      const grantId = await grantAll(details, login);
      return finish(ctx, { login: { accountId: login }, consent: { grantId } });
    }
    if (action === '/abort' && ctx.method === 'GET') {
      return finish(ctx, { error: 'access_denied', error_description: 'End-User aborted interaction' });
    }
    ctx.throw(405);
  }

  await next();

  // One-shot ID token forgery on the next successful token response that carries one.
  if (tampers.size && ctx.method === 'POST' && ctx.path === '/token' && ctx.status === 200
      && ctx.body && typeof ctx.body === 'object' && typeof ctx.body.id_token === 'string') {
    const aud = decodeJwt(ctx.body.id_token).aud;
    const clientId = Array.isArray(aud) ? aud[0] : aud;
    const key = tampers.has(clientId) ? clientId : (tampers.has('*') ? '*' : null);
    if (key !== null) {
      const spec = tampers.get(key);
      tampers.delete(key);
      ctx.body = { ...ctx.body, id_token: await forgeIdToken(ctx.body.id_token, spec) };
    }
  }
});

provider.on('server_error', (ctx, err) => {
  process.stderr.write(`provider.mjs: server_error on ${ctx.method} ${ctx.path}: ${err.stack}\n`);
});

handler = provider.callback();
process.stdout.write(`ready ${ISSUER}\n`);

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
