// A real OpenID Connect provider for Hangar's integration tests, built on the
// `oidc-provider` package. It listens on 127.0.0.1 only, keeps everything in
// memory and is configured from the environment:
//
//   OIDC_PORT           port to listen on; 0 (the default) picks a free one
//   OIDC_CLIENT_ID      the one registered client (default: hangar)
//   OIDC_CLIENT_SECRET  its secret (default: hangar-secret)
//   OIDC_REDIRECT_URI   the relying party's callback (required)
//
// Once listening it prints exactly one line to stdout, `ready <issuer>`. It
// exits on SIGTERM/SIGINT and when its stdin reaches end of file, so it dies
// with the process that started it. Everything else it says goes to stderr.
//
// Accounts: any login name with the password `secret` signs in as the account
// whose id is that login name; see README.md for the claims.

import crypto from 'node:crypto';
import http from 'node:http';

// The library prints notices through console.info/console.log; stdout carries
// only the ready line, so send those to stderr. This must happen before the
// library is loaded, hence the dynamic import below.
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);

const { default: Provider } = await import('oidc-provider');

const PASSWORD = 'secret';
const EMAIL_DOMAIN = 'example.test';

function fail(message) {
  process.stderr.write(`oidc test provider: ${message}\n`);
  process.exit(2);
}

const portText = process.env.OIDC_PORT ?? '0';
const port = Number(portText);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`OIDC_PORT must be a port number, got ${JSON.stringify(portText)}`);
}
const clientId = process.env.OIDC_CLIENT_ID || 'hangar';
const clientSecret = process.env.OIDC_CLIENT_SECRET || 'hangar-secret';
const redirectUri = process.env.OIDC_REDIRECT_URI;
if (!redirectUri) {
  fail('OIDC_REDIRECT_URI is required (the relying party callback URL)');
}

function claimsFor(accountId) {
  return {
    sub: accountId,
    email: accountId.includes('@') ? accountId : `${accountId}@${EMAIL_DOMAIN}`,
    email_verified: true,
    name: accountId,
  };
}

// One RSA key, made at start-up: ID tokens are signed with RS256.
function signingKeys() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' }] };
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, { login = '', error = '' } = {}) {
  const message = error ? `<p class="error">${escapeHtml(error)}</p>` : '';
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<h1>Sign in</h1>
${message}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>Login <input name="login" value="${escapeHtml(login)}" autofocus></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button>
</form>
</body>
</html>
`;
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function buildProvider(issuer) {
  const configuration = {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    }],
    jwks: signingKeys(),
    cookies: {
      keys: [crypto.randomBytes(32).toString('base64url')],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // Put the scope claims into the ID token too, not only into userinfo.
    conformIdTokenClaims: false,
    pkce: { methods: ['S256'], required: () => true },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
    },
    // Errors that cannot go back to the client (unknown client, redirect_uri
    // not registered, ...) as plain text: `error: description`.
    async renderError(ctx, out) {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${out.error}: ${out.error_description}\n`;
    },
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return claimsFor(id);
        },
      };
    },
    // The one client is first party: whatever it asks for is granted, so the
    // flow never stops at a consent page.
    async loadExistingGrant(ctx) {
      const { oidc } = ctx;
      const grantId = oidc.result?.consent?.grantId
        || oidc.session.grantIdFor(oidc.client.clientId);
      let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
      if (!grant) {
        grant = new oidc.provider.Grant({
          accountId: oidc.session.accountId,
          clientId: oidc.client.clientId,
        });
      }
      const scopes = [...oidc.requestParamOIDCScopes];
      if (scopes.length) grant.addOIDCScope(scopes.join(' '));
      const claims = [...oidc.requestParamClaims];
      if (claims.length) grant.addOIDCClaims(claims);
      await grant.save();
      return grant;
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 120,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`oidc test provider: server error: ${err?.stack || err}\n`);
  });
  return provider;
}

// GET  /interaction/:uid        the login form
// POST /interaction/:uid/login  login + password
async function interaction(provider, req, res, pathname) {
  const [uid, action] = pathname.slice('/interaction/'.length).split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    send(res, 400, 'interaction does not match the interaction cookie\n', 'text/plain; charset=utf-8');
    return;
  }
  if (details.prompt.name !== 'login') {
    send(res, 500, `unexpected prompt ${details.prompt.name}\n`, 'text/plain; charset=utf-8');
    return;
  }

  if (req.method === 'GET' && action === undefined) {
    send(res, 200, loginPage(uid));
    return;
  }
  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const login = form.get('login') ?? '';
    const password = form.get('password') ?? '';
    if (login === '' || password !== PASSWORD) {
      send(res, 401, loginPage(uid, { login, error: 'Invalid login or password.' }));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  send(res, 404, 'not found\n', 'text/plain; charset=utf-8');
}

let provider;
let providerCallback;

const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, 'http://127.0.0.1');
  if (pathname.startsWith('/interaction/')) {
    interaction(provider, req, res, pathname).catch((err) => {
      const status = err?.statusCode && err.statusCode < 500 ? err.statusCode : 500;
      const text = err?.error_description ? `${err.error}: ${err.error_description}` : String(err?.message || err);
      process.stderr.write(`oidc test provider: interaction failed: ${status === 500 ? err?.stack || err : text}\n`);
      if (!res.headersSent) {
        send(res, status, `${text}\n`, 'text/plain; charset=utf-8');
      } else {
        res.end();
      }
    });
    return;
  }
  providerCallback(req, res);
});

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();

server.on('error', (err) => fail(`cannot listen: ${err.message}`));
server.listen(port, '127.0.0.1', async () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  try {
    provider = buildProvider(issuer);
    // The library checks static clients on first use; check ours now, so that
    // a bad OIDC_REDIRECT_URI fails here and not in the middle of a test.
    await provider.Client.find(clientId);
  } catch (err) {
    fail(`bad configuration: ${err?.error_description || err?.message || err}`);
  }
  providerCallback = provider.callback();
  process.stdout.write(`ready ${issuer}\n`);
});
