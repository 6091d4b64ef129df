#!/usr/bin/env bash
# tests/support/oidc_provider_check.sh PORT - starts tests/support/oidc_provider.mjs on
# 127.0.0.1:PORT and drives the whole code flow with curl and a cookie jar, as the Rust
# relying party will: discovery, authorization request (state, nonce, S256 PKCE), login form,
# redirect to the client with code+state, token exchange (client_secret_basic, then _post),
# ID token claims and signature, code replay -> invalid_grant, unverified user, access_denied.
# Exits 0 when every check passes; always stops the provider.  Needs curl, openssl, node and
# the rig's npm prefix (OIDC_NODE_MODULES, default /var/cache/tidings-rig/node/node_modules).
set -euo pipefail
PORT=${1:?usage: $0 PORT}
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=http://127.0.0.1:$PORT
export OIDC_PORT=$PORT OIDC_CLIENT_ID=tidings-test OIDC_CLIENT_SECRET=s3cret-$RANDOM
export OIDC_REDIRECT_URI=http://127.0.0.1:9/auth/oidc/callback   # never fetched
export OIDC_NODE_MODULES=${OIDC_NODE_MODULES:-/var/cache/tidings-rig/node/node_modules}
T=$(mktemp -d); PID=
cleanup() { [ -z "$PID" ] || kill "$PID" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL $*" >&2; echo "--- provider stderr:" >&2; cat "$T/err" >&2; exit 1; }
pass() { echo "PASS $*"; }

node "$HERE/oidc_provider.mjs" >"$T/out" 2>"$T/err" & PID=$!
for _ in $(seq 100); do grep -q . "$T/out" && break; kill -0 $PID 2>/dev/null || fail "provider exited"; sleep 0.1; done
[ "$(cat "$T/out")" = "ready $BASE" ] || fail "ready line: '$(cat "$T/out")'"
pass "ready line"

json() { node -e 'let j=JSON.parse(require("fs").readFileSync(0,"utf8")); for (const k of process.argv[1].split(".")) j=j?.[k]; console.log(typeof j=="object"?JSON.stringify(j):j??"")' "$1"; }
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
# req METHOD URL [curl args...]: sets CODE and LOC (Location header), body in $T/body
req() {
    local m=$1 u=$2; shift 2
    read -r CODE LOC < <(curl -sS -X "$m" -b "$T/jar" -c "$T/jar" -o "$T/body" -w '%{http_code} %{redirect_url}\n' "$@" "$u")
    echo "  $m ${u%%\?*} -> $CODE ${LOC:+Location: ${LOC:0:110}}"
}
qparam() { node -e 'console.log(new URL(process.argv[1]).searchParams.get(process.argv[2]) ?? "")' "$1" "$2"; }

req GET "$BASE/.well-known/openid-configuration"
[ "$CODE" = 200 ] && [ "$(json issuer <"$T/body")" = "$BASE" ] || fail discovery
AUTH=$(json authorization_endpoint <"$T/body"); TOKEN=$(json token_endpoint <"$T/body"); JWKS=$(json jwks_uri <"$T/body")
pass "discovery: issuer $BASE, auth $AUTH, token $TOKEN"

# login LOGIN: one authorization code flow up to the redirect; sets STATE NONCE VERIFIER RCODE FINAL
login() {
    : >"$T/jar"
    STATE=st-$RANDOM$RANDOM NONCE=n-$RANDOM$RANDOM
    VERIFIER=$(openssl rand 32 | b64url)
    local challenge; challenge=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | b64url)
    req GET "$AUTH" -G --data-urlencode "client_id=$OIDC_CLIENT_ID" --data-urlencode "redirect_uri=$OIDC_REDIRECT_URI" \
        -d response_type=code --data-urlencode "scope=openid email profile" -d "state=$STATE" -d "nonce=$NONCE" \
        -d "code_challenge=$challenge" -d code_challenge_method=S256
    [ "$CODE" = 303 ] && [[ $LOC == "$BASE/interaction/"* ]] || fail "auth request"
    local inter=$LOC
    req GET "$inter"
    [ "$CODE" = 200 ] && grep -q "<form method=post action=/interaction/${inter##*/}/login>" "$T/body" || fail "login form"
    req POST "$inter/login" --data-urlencode "login=$1"
    [ "$CODE" = 303 ] && [[ $LOC == "$BASE/auth/"* ]] || fail "login POST"
    req GET "$LOC"
    [ "$CODE" = 303 ] && [[ $LOC == "$OIDC_REDIRECT_URI?"* ]] || fail "resume"
    FINAL=$LOC RCODE=$(qparam "$LOC" code)
}

login Alice.Smith@Example.test
[ -n "$RCODE" ] && [ "$(qparam "$FINAL" state)" = "$STATE" ] && [ "$(qparam "$FINAL" iss)" = "$BASE" ] || fail "redirect params"
pass "redirect to client with code, state, iss"
req POST "$TOKEN" -u "$OIDC_CLIENT_ID:$OIDC_CLIENT_SECRET" -d grant_type=authorization_code \
    --data-urlencode "code=$RCODE" --data-urlencode "redirect_uri=$OIDC_REDIRECT_URI" --data-urlencode "code_verifier=$VERIFIER"
[ "$CODE" = 200 ] || fail "token (basic): $(cat "$T/body")"
IDT=$(json id_token <"$T/body")
CLAIMS=$(cut -d. -f2 <<<"$IDT" | node -e 'console.log(Buffer.from(require("fs").readFileSync(0,"utf8").trim(),"base64url").toString())')
echo "  token response: $(node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log(Object.keys(j).join(" "), j.token_type, j.scope, j.expires_in)' <"$T/body")"
echo "  id_token header: $(cut -d. -f1 <<<"$IDT" | node -e 'console.log(Buffer.from(require("fs").readFileSync(0,"utf8").trim(),"base64url").toString())')"
echo "  id_token claims: $CLAIMS"
c() { json "$1" <<<"$CLAIMS"; }
[ "$(c iss)" = "$BASE" ] && [ "$(c aud)" = "$OIDC_CLIENT_ID" ] && [ "$(c nonce)" = "$NONCE" ] \
  && [ "$(c sub)" = alice.smith@example.test ] && [ "$(c email)" = alice.smith@example.test ] \
  && [ "$(c email_verified)" = true ] && [ "$(c name)" = Alice.smith ] || fail "id_token claims"
pass "token exchange (client_secret_basic + code_verifier); id_token claims"
curl -sS "$JWKS" >"$T/jwks"
node -e 'const c=require("crypto"),fs=require("fs");const [h,p,s]=process.argv[1].split(".");
  const k=JSON.parse(fs.readFileSync(process.argv[2])).keys.find(k=>k.kid===JSON.parse(Buffer.from(h,"base64url")).kid);
  process.exit(c.verify("sha256",Buffer.from(h+"."+p),c.createPublicKey({key:k,format:"jwk"}),Buffer.from(s,"base64url"))?0:1)' "$IDT" "$T/jwks" \
  || fail "id_token signature"
pass "id_token RS256 signature verifies against jwks_uri"
req POST "$TOKEN" -u "$OIDC_CLIENT_ID:$OIDC_CLIENT_SECRET" -d grant_type=authorization_code \
    --data-urlencode "code=$RCODE" --data-urlencode "redirect_uri=$OIDC_REDIRECT_URI" --data-urlencode "code_verifier=$VERIFIER"
[ "$CODE" = 400 ] && [ "$(json error <"$T/body")" = invalid_grant ] || fail "code replay: $CODE $(cat "$T/body")"
pass "second exchange of the same code: 400 invalid_grant"

login bob.unverified@example.test
req POST "$TOKEN" -d grant_type=authorization_code --data-urlencode "client_id=$OIDC_CLIENT_ID" \
    --data-urlencode "client_secret=$OIDC_CLIENT_SECRET" --data-urlencode "code=$RCODE" \
    --data-urlencode "redirect_uri=$OIDC_REDIRECT_URI" --data-urlencode "code_verifier=wrong-$VERIFIER"
[ "$CODE" = 400 ] && [ "$(json error <"$T/body")" = invalid_grant ] || fail "wrong verifier: $CODE $(cat "$T/body")"
pass "wrong code_verifier: 400 invalid_grant"
login bob.unverified@example.test
req POST "$TOKEN" -d grant_type=authorization_code --data-urlencode "client_id=$OIDC_CLIENT_ID" \
    --data-urlencode "client_secret=$OIDC_CLIENT_SECRET" --data-urlencode "code=$RCODE" \
    --data-urlencode "redirect_uri=$OIDC_REDIRECT_URI" --data-urlencode "code_verifier=$VERIFIER"
[ "$CODE" = 200 ] || fail "token (post): $(cat "$T/body")"
CLAIMS=$(json id_token <"$T/body" | cut -d. -f2 | node -e 'console.log(Buffer.from(require("fs").readFileSync(0,"utf8").trim(),"base64url").toString())')
[ "$(c email_verified)" = false ] && [ "$(c name)" = Bob.unverified ] || fail "unverified claims: $CLAIMS"
pass "client_secret_post works; 'unverified' login gets email_verified false"

: >"$T/jar"
req GET "$AUTH" -G --data-urlencode "client_id=$OIDC_CLIENT_ID" --data-urlencode "redirect_uri=$OIDC_REDIRECT_URI" \
    -d response_type=code --data-urlencode "scope=openid email profile" -d state=deny1 -d nonce=n
req POST "$LOC/login" -d login=nobody
req GET "$LOC"
[ "$CODE" = 303 ] && [ "$(qparam "$LOC" error)" = access_denied ] && [ "$(qparam "$LOC" state)" = deny1 ] || fail "access_denied"
pass "login without @ (and no PKCE): redirect with error=access_denied and state"
echo "oidc_provider_check: ALL OK"
