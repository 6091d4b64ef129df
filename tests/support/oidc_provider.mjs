// tests/support/oidc_provider.mjs - a real OpenID Connect provider (panva's oidc-provider,
// installed by 'scripts/rig install') on loopback, for the "Sign in with your organisation"
// tests.  One confidential client; any email address logs in; consent is implicit.
//
// Start (the Rust test does the same with std::process::Command):
//   OIDC_PORT=4711 OIDC_CLIENT_ID=tidings OIDC_CLIENT_SECRET=s3cret \
//   OIDC_REDIRECT_URI=http://127.0.0.1:8080/auth/oidc/callback \
//   OIDC_NODE_MODULES=/var/cache/tidings-rig/node/node_modules \
//   node tests/support/oidc_provider.mjs
// OIDC_NODE_MODULES is optional: without it the first NODE_PATH entry is used, then the rig's
// default above.  (ESM ignores NODE_PATH, so the package is resolved with createRequire.)
// OIDC_REQUIRE_PKCE=1 makes PKCE mandatory for the client too (default: optional, S256 only).
// OIDC_PARENT_PID=PID (e.g. std::process::id()): exit when PID is gone (polled every 0.5 s).
//
// stdout: exactly one line "ready http://127.0.0.1:PORT" once listening; everything else
// (library notices, errors) goes to stderr.  Issuer = http://127.0.0.1:PORT.  State is in
// memory; keys and cookie secrets are new at each start.
//
// Flow (a cookie jar is needed: _interaction, _interaction_resume, _session + .sig cookies):
//   GET  /auth?client_id&redirect_uri&response_type=code&scope=openid email profile&state&nonce
//        [&code_challenge&code_challenge_method=S256]      -> 303 /interaction/UID
//   GET  /interaction/UID                                  -> 200 HTML form
//   POST /interaction/UID/login  (form: login=EMAIL)       -> 303 /auth/UID
//   GET  /auth/UID                                         -> 303 REDIRECT_URI?code&state&iss
//   POST /token (client_secret_basic or client_secret_post) -> id_token with email, name, ...
// Accounts: id = sub = the email lowercased; email_verified is false when the login contains
// "unverified"; name = the part before @, capitalised.  A login without "@" (or empty) ends
// the flow with error=access_denied at the redirect URI, for the refusal path.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';

// Keep stdout for the ready line: the library prints its notices with console.info.
console.log = console.info = console.error;

const env = (name) => {
  const v = process.env[name];
  if (!v) { console.error(`oidc_provider: ${name} must be set`); process.exit(2); }
  return v;
};
const PORT = Number(env('OIDC_PORT'));
const CLIENT_ID = env('OIDC_CLIENT_ID');
const CLIENT_SECRET = env('OIDC_CLIENT_SECRET');
const REDIRECT_URI = env('OIDC_REDIRECT_URI');
const MODULES = process.env.OIDC_NODE_MODULES
  || (process.env.NODE_PATH || '').split(path.delimiter).find(Boolean)
  || '/var/cache/tidings-rig/node/node_modules';
const ISSUER = `http://127.0.0.1:${PORT}`;

const entry = createRequire(path.join(MODULES, 'noop.js')).resolve('oidc-provider');
const { default: Provider } = await import(pathToFileURL(entry).href);

// RS256 signing key, made at start.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'rs256-' + randomBytes(4).toString('hex'), alg: 'RS256', use: 'sig' };

const account = (id) => ({
  accountId: id,
  async claims() {
    const local = id.split('@')[0];
    return {
      sub: id,
      email: id,
      email_verified: !id.includes('unverified'),
      name: local.charAt(0).toUpperCase() + local.slice(1),
    };
  },
});

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    // The library accepts client_secret_post as well for a client registered with _basic.
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  responseTypes: ['code'],
  scopes: ['openid', 'email', 'profile'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false, // email, email_verified and name go into the ID token
  pkce: { required: (_ctx, client) => process.env.OIDC_REQUIRE_PKCE === '1' || client.clientAuthMethod === 'none' },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: (_ctx, id) => account(id),
  // No consent screen: every grant covers the requested openid email profile scopes.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (grant) return grant;
    }
    const grant = new ctx.oidc.provider.Grant({ accountId: ctx.oidc.session.accountId, clientId: ctx.oidc.client.clientId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});
for (const ev of ['server_error', 'authorization.error', 'grant.error', 'introspection.error', 'userinfo.error']) {
  provider.on(ev, (ctx, err) => console.error(`oidc_provider: ${ev}: ${err?.message} ${err?.error_description || ''}`));
}

const readForm = (req) => new Promise((resolve, reject) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { body += c; if (body.length > 65536) req.destroy(); });
  req.on('end', () => resolve(new URLSearchParams(body)));
  req.on('error', reject);
});

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res); // checks the _interaction cookie
  if (details.uid !== uid) throw new Error('interaction uid mismatch');
  if (req.method === 'GET' && !action) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><title>Sign in</title><p>Prompt: ${details.prompt.name}</p>`
      + `<form method=post action=/interaction/${uid}/login><input name=login placeholder=email>`
      + '<button>Sign in</button></form>\n');
    return;
  }
  if (req.method === 'POST' && action === 'login') {
    const login = ((await readForm(req)).get('login') || '').trim().toLowerCase();
    const result = login.includes('@')
      ? { login: { accountId: login } }
      : { error: 'access_denied', error_description: 'no such user' };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false }); // 303 /auth/UID
    return;
  }
  res.writeHead(405).end();
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const m = /^\/interaction\/([\w-]+)(?:\/(\w+))?\/?(?:\?.*)?$/.exec(req.url);
  if (!m) return callback(req, res);
  interaction(req, res, m[1], m[2]).catch((err) => {
    console.error(`oidc_provider: interaction ${req.method} ${req.url}: ${err.message} ${err.error_description || ''}`);
    if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`interaction failed: ${err.message} ${err.error_description || ''}\n`);
  });
});
server.on('error', (err) => { console.error(`oidc_provider: ${err.message}`); process.exit(1); });
server.listen(PORT, '127.0.0.1', () => process.stdout.write(`ready ${ISSUER}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
// OIDC_PARENT_PID: exit when that process is gone (like 'scripts/rig serve --parent'), so a
// killed test run leaves no provider behind.
const parent = Number(process.env.OIDC_PARENT_PID || 0);
if (parent) {
  setInterval(() => { try { process.kill(parent, 0); } catch { process.exit(0); } }, 500).unref();
}
