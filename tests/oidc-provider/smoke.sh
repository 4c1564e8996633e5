#!/usr/bin/env bash
# End-to-end check of the test provider with curl: discovery, authorization
# code + PKCE (S256) login through the interaction form, token exchange,
# ID token signature and claims, userinfo, and the failures that must fail.
#
# Usage: bash smoke.sh      (runs `npm ci` first when node_modules is missing)
# Needs: node, npm, curl, openssl.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

for tool in node npm curl openssl; do
  command -v "$tool" >/dev/null || { echo "smoke: $tool not found" >&2; exit 1; }
done
if [ ! -d node_modules/oidc-provider ]; then
  npm ci --no-fund --no-audit >&2
fi

CLIENT_ID=hangar-smoke
CLIENT_SECRET=smoke-secret
REDIRECT_URI=http://127.0.0.1:9/cb

work="$(mktemp -d)"
provider_pid=
cleanup() {
  if [ -n "$provider_pid" ]; then kill "$provider_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

pass=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
die() { echo "FAILED: $*" >&2; exit 1; }

# --- start the provider ------------------------------------------------------
# Its stdin is a pipe held by this shell: when the script ends the pipe closes
# and the provider exits even if the trap never runs.
coproc PROVIDER {
  OIDC_PORT=0 OIDC_CLIENT_ID="$CLIENT_ID" OIDC_CLIENT_SECRET="$CLIENT_SECRET" \
    OIDC_REDIRECT_URI="$REDIRECT_URI" exec node provider.mjs 2>"$work/provider.log"
}
provider_pid=$PROVIDER_PID
if ! read -r -t 30 word ISSUER <&"${PROVIDER[0]}" || [ "$word" != ready ]; then
  cat "$work/provider.log" >&2
  die "provider did not print its ready line"
fi
echo "provider: $ISSUER"
case "$ISSUER" in http://127.0.0.1:[0-9]*) ;; *) die "unexpected issuer $ISSUER" ;; esac

# --- helpers -----------------------------------------------------------------
json() { # json FILE EXPRESSION  -> prints the value of EXPRESSION over the parsed file as `d`
  node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
           const v = eval(process.argv[2]); process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));' "$1" "$2"
}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
urlencode() { node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1"; }
query_param() { # query_param URL NAME
  node -e 'const v = new URL(process.argv[1]).searchParams.get(process.argv[2]); process.stdout.write(v ?? "")' "$1" "$2"
}
absolute() { # absolute LOCATION BASE
  node -e 'process.stdout.write(new URL(process.argv[1], process.argv[2]).href)' "$1" "$2"
}

# request NAME ARGS...: curl without following redirects; body to $work/NAME.body,
# headers to $work/NAME.head; sets STATUS and LOCATION.
request() {
  local name=$1; shift
  STATUS=$(curl -sS -o "$work/$name.body" -D "$work/$name.head" -w '%{http_code}' "$@")
  LOCATION=$(tr -d '\r' <"$work/$name.head" | sed -n 's/^[Ll]ocation: //p' | tail -n 1)
}
expect_status() { [ "$STATUS" = "$1" ] || { cat "$work/$2.body" >&2; echo >&2; die "$2: status $STATUS, expected $1"; }; }

new_pkce() {
  VERIFIER=$(openssl rand 48 | b64url)
  CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | b64url)
}

# authorize_url STATE NONCE [CHALLENGE]
authorize_url() {
  local url="$AUTHORIZATION_ENDPOINT?response_type=code&client_id=$(urlencode "$CLIENT_ID")"
  url+="&redirect_uri=$(urlencode "$REDIRECT_URI")&scope=$(urlencode 'openid email profile')"
  url+="&state=$1&nonce=$2"
  if [ -n "${3:-}" ]; then url+="&code_challenge=$3&code_challenge_method=S256"; fi
  printf '%s' "$url"
}

# login JAR LOGIN STATE NONCE -> sets CODE (full flow through the login form)
login() {
  local jar=$1 user=$2 state=$3 nonce=$4
  request authorize -b "$jar" -c "$jar" "$(authorize_url "$state" "$nonce" "$CHALLENGE")"
  expect_status 303 authorize
  local interaction
  interaction=$(absolute "$LOCATION" "$AUTHORIZATION_ENDPOINT")
  case "$interaction" in "$ISSUER"/interaction/*) ;; *) die "authorize redirected to $interaction" ;; esac

  request form -b "$jar" -c "$jar" "$interaction"
  expect_status 200 form
  grep -q 'name="login"' "$work/form.body" || die "login form has no login field"

  request wrong -b "$jar" -c "$jar" --data-urlencode "login=$user" --data-urlencode 'password=wrong' "$interaction/login"
  expect_status 401 wrong
  [ -z "$LOCATION" ] || die "wrong password redirected to $LOCATION"
  ok "wrong password for $user: 401, no redirect, no code"

  request submit -b "$jar" -c "$jar" --data-urlencode "login=$user" --data-urlencode 'password=secret' "$interaction/login"
  expect_status 303 submit
  local resume
  resume=$(absolute "$LOCATION" "$interaction")
  case "$resume" in "$ISSUER"/auth/*) ;; *) die "login redirected to $resume" ;; esac

  request resume -b "$jar" -c "$jar" "$resume"
  expect_status 303 resume
  callback "$state"
}

# callback STATE: checks $LOCATION is the redirect URI with code and state; sets CODE
callback() {
  case "$LOCATION" in "$REDIRECT_URI"\?*) ;; *) die "expected a redirect to $REDIRECT_URI, got $LOCATION" ;; esac
  [ "$(query_param "$LOCATION" state)" = "$1" ] || die "state not returned: $LOCATION"
  [ "$(query_param "$LOCATION" iss)" = "$ISSUER" ] || die "iss not returned: $LOCATION"
  CODE=$(query_param "$LOCATION" code)
  [ -n "$CODE" ] || die "no code in $LOCATION"
}

# token NAME CODE VERIFIER [curl auth args...]
token() {
  local name=$1 code=$2 verifier=$3; shift 3
  request "$name" "$@" --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$code" --data-urlencode "redirect_uri=$REDIRECT_URI" \
    --data-urlencode "code_verifier=$verifier" "$TOKEN_ENDPOINT"
}

# check_id_token FILE NONCE EMAIL NAME: verifies signature against the JWKS and the claims, prints them
check_id_token() {
  node - "$1" "$work/jwks.json" "$ISSUER" "$CLIENT_ID" "$2" "$3" "$4" <<'EOF'
const crypto = require('crypto');
const fs = require('fs');
const [file, jwksFile, issuer, clientId, nonce, email, name] = process.argv.slice(2);
const idToken = JSON.parse(fs.readFileSync(file, 'utf8')).id_token;
const [h, p, s] = idToken.split('.');
const header = JSON.parse(Buffer.from(h, 'base64url'));
const claims = JSON.parse(Buffer.from(p, 'base64url'));
const jwk = JSON.parse(fs.readFileSync(jwksFile, 'utf8')).keys.find((k) => k.kid === header.kid);
const fail = (m) => { console.error(`FAILED: ${m}`); process.exit(1); };
if (!jwk) fail(`no JWKS key with kid ${header.kid}`);
if (header.alg !== 'RS256') fail(`alg ${header.alg}`);
const valid = crypto.verify('sha256', Buffer.from(`${h}.${p}`), crypto.createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url'));
if (!valid) fail('ID token signature does not verify against the JWKS');
const expect = { iss: issuer, aud: clientId, nonce, email, email_verified: true, name };
for (const [k, v] of Object.entries(expect)) {
  if (claims[k] !== v) fail(`claim ${k} is ${JSON.stringify(claims[k])}, expected ${JSON.stringify(v)}`);
}
console.log(`ID token header: ${JSON.stringify(header)}`);
console.log(`ID token claims: ${JSON.stringify(claims, null, 2)}`);
EOF
}

# --- discovery ---------------------------------------------------------------
request discovery "$ISSUER/.well-known/openid-configuration"
expect_status 200 discovery
[ "$(json "$work/discovery.body" d.issuer)" = "$ISSUER" ] || die "discovery issuer mismatch"
AUTHORIZATION_ENDPOINT=$(json "$work/discovery.body" d.authorization_endpoint)
TOKEN_ENDPOINT=$(json "$work/discovery.body" d.token_endpoint)
USERINFO_ENDPOINT=$(json "$work/discovery.body" d.userinfo_endpoint)
JWKS_URI=$(json "$work/discovery.body" d.jwks_uri)
echo "discovery: authorization_endpoint=$AUTHORIZATION_ENDPOINT token_endpoint=$TOKEN_ENDPOINT"
echo "discovery: jwks_uri=$JWKS_URI userinfo_endpoint=$USERINFO_ENDPOINT"
echo "discovery: code_challenge_methods_supported=$(json "$work/discovery.body" d.code_challenge_methods_supported)" \
  "token_endpoint_auth_methods_supported=$(json "$work/discovery.body" d.token_endpoint_auth_methods_supported)" \
  "id_token_signing_alg_values_supported=$(json "$work/discovery.body" d.id_token_signing_alg_values_supported)"
request jwks "$JWKS_URI"
expect_status 200 jwks
cp "$work/jwks.body" "$work/jwks.json"
ok "discovery and JWKS ($(json "$work/jwks.json" 'd.keys.map(k => k.kty + "/" + k.alg).join(",")'))"

# --- 1. login as alice through the form, exchange the code ------------------
jar_a="$work/jar-a"
new_pkce
verifier_a=$VERIFIER
login "$jar_a" alice state-a nonce-a
code_a=$CODE
ok "login as alice: 303 to the redirect URI with code, state and iss"

token bad-secret "$code_a" "$verifier_a" -u "$CLIENT_ID:not-the-secret"
expect_status 401 bad-secret
[ "$(json "$work/bad-secret.body" d.error)" = invalid_client ] || die "wrong secret: $(cat "$work/bad-secret.body")"
ok "wrong client secret is refused (401 invalid_client)"

token token-a "$code_a" "$verifier_a" -u "$CLIENT_ID:$CLIENT_SECRET"
expect_status 200 token-a
[ "$(json "$work/token-a.body" d.token_type)" = Bearer ] || die "token type"
check_id_token "$work/token-a.body" nonce-a alice@example.test alice
ok "token exchange (client_secret_basic + code_verifier): ID token RS256, signature verified against the JWKS"

request userinfo -H "Authorization: Bearer $(json "$work/token-a.body" d.access_token)" "$USERINFO_ENDPOINT"
expect_status 200 userinfo
echo "userinfo: $(cat "$work/userinfo.body")"
[ "$(json "$work/userinfo.body" 'd.email + "|" + d.email_verified + "|" + d.name')" = 'alice@example.test|true|alice' ] \
  || die "userinfo claims"
ok "userinfo carries email, email_verified and name"

token reuse "$code_a" "$verifier_a" -u "$CLIENT_ID:$CLIENT_SECRET"
expect_status 400 reuse
[ "$(json "$work/reuse.body" d.error)" = invalid_grant ] || die "code reuse: $(cat "$work/reuse.body")"
ok "a used code is refused (400 invalid_grant)"

# --- 2. same cookie jar: the session is reused, no login form ----------------
new_pkce
request authorize2 -b "$jar_a" -c "$jar_a" "$(authorize_url state-b nonce-b "$CHALLENGE")"
expect_status 303 authorize2
callback state-b
ok "second authorize with the session cookie: 303 straight to the redirect URI"

token wrong-verifier "$CODE" "$(openssl rand 48 | b64url)" -u "$CLIENT_ID:$CLIENT_SECRET"
expect_status 400 wrong-verifier
[ "$(json "$work/wrong-verifier.body" d.error)" = invalid_grant ] || die "wrong verifier: $(cat "$work/wrong-verifier.body")"
ok "wrong code_verifier is refused (400 invalid_grant: $(json "$work/wrong-verifier.body" d.error_description))"

token right-verifier "$CODE" "$VERIFIER" -u "$CLIENT_ID:$CLIENT_SECRET"
expect_status 200 right-verifier
check_id_token "$work/right-verifier.body" nonce-b alice@example.test alice >/dev/null
ok "the same code with the right code_verifier then succeeds: the refusal was the verifier"

# --- 3. an e-mail address as the login name ----------------------------------
jar_c="$work/jar-c"
new_pkce
login "$jar_c" bob@corp.test state-c nonce-c
token token-c "$CODE" "$VERIFIER" --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET"
expect_status 200 token-c
check_id_token "$work/token-c.body" nonce-c bob@corp.test bob@corp.test >/dev/null
ok "login bob@corp.test: email claim is the login itself (code exchanged with client_secret_post)"

# --- 4. PKCE is required -----------------------------------------------------
request no-pkce -b "$work/jar-d" -c "$work/jar-d" "$(authorize_url state-d nonce-d)"
expect_status 303 no-pkce
[ "$(query_param "$LOCATION" error)" = invalid_request ] || die "no PKCE: $LOCATION"
[ -z "$(query_param "$LOCATION" code)" ] || die "no PKCE still gave a code"
ok "authorize without code_challenge: redirect with error=invalid_request ($(query_param "$LOCATION" error_description))"

# --- 5. SIGTERM ends the provider --------------------------------------------
kill -TERM "$provider_pid"
for _ in $(seq 50); do kill -0 "$provider_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$provider_pid" 2>/dev/null && die "provider still running after SIGTERM"
provider_pid=
ok "provider exits on SIGTERM"

echo "$pass passed, 0 failed"
