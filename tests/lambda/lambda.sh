#!/bin/bash
# tests/lambda/lambda.sh - the Lambda package end to end: scripts/package-lambda
# builds the zip, the zip is unpacked into an empty directory, and its bootstrap
# runs with a clean environment (only what Lambda sets plus SPEC §3 settings)
# against the Runtime API stand-in (runtime_api.py) and a private dynalite.
# Recorded events (tests/data/lambda) go through; every response, invocation
# error and init error is checked. A second run takes Lambda's advanced
# logging controls (AWS_LAMBDA_LOG_FORMAT=JSON, AWS_LAMBDA_LOG_LEVEL), the
# digest API key from a Secrets Manager stand-in that checks SigV4
# (secrets_standin.py), and EventBridge scheduled events that post the
# digest; every log line and CloudWatch EMF line is checked (check_logs.py,
# with a JSON Schema of EMF). Prints TAP; cold start and per-invocation times
# are reported as comments.
set -u

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
EVENTS=$top_srcdir/tests/data/lambda
STANDIN=$top_srcdir/tests/lambda/runtime_api.py
SECRETS_STANDIN=$top_srcdir/tests/lambda/secrets_standin.py
LLM_STANDIN=$top_srcdir/tests/digest/llm_standin.py
CHECK_LOGS="python3 $top_srcdir/tests/lambda/check_logs.py"
EMF_SCHEMA=$top_srcdir/tests/data/lambda/emf.schema.json
DIGEST_SECRET_NAME=turbotech/test/digest-api-key
DIGEST_SECRET_VALUE=sk-from-secrets-manager-7f3a
RUN_LIMIT_S=60		# longest the bootstrap may take for all the events
DASHBOARD_RUNS=5	# warm invocations of /api/dashboard that are timed
ORIGIN=https://portal.example.com

tap_require_tools jq unzip python3
tap_require_built "$BOOTSTRAP" "$PORTALCTL"

tap_scratch lambda-test

tap_isolate "$tmp" AUTH0_DOMAIN AUTH_ISSUER AUTH_JWKS_URL AUTH0_AUDIENCE CORS_ALLOW_ORIGINS \
	PORTAL_DEV_ISSUER_DIR AWS_LAMBDA_LOG_FORMAT AWS_LAMBDA_LOG_LEVEL DIGEST_API_URL DIGEST_API_KEY \
	DIGEST_MODEL DIGEST_API_KEY_SECRET AWS_ENDPOINT_URL_SECRETS_MANAGER
export DYNALITE_TABLE_MS=${DYNALITE_TABLE_MS:-0}
tap_dynalite_start "$tmp" fail
export PORTAL_TABLE_PREFIX="lambda-$$-"

# --- the store and the development issuer -------------------------------
"$PORTALCTL" tables create >"$tmp/pctl.out" 2>&1 && "$PORTALCTL" seed --file "$top_srcdir/data/seed-data.json" >>"$tmp/pctl.out" 2>&1
ok $? "portalctl creates and seeds the tables" || diag "$tmp/pctl.out"

# A private copy of the dev issuer (the project's var/dev-issuer is left alone).
mkdir -p "$tmp/dev/scripts/lib"
cp "$top_srcdir/scripts/dev-token" "$tmp/dev/scripts/"
cp "$top_srcdir/scripts/lib/devkeys.sh" "$tmp/dev/scripts/lib/"
# shellcheck source=../../scripts/lib/devkeys.sh
. "$tmp/dev/scripts/lib/devkeys.sh"
CLIENT_TOKEN=$("$tmp/dev/scripts/dev-token" --role client 2>"$tmp/token.err")
TEAM_TOKEN=$("$tmp/dev/scripts/dev-token" --role team 2>>"$tmp/token.err")
[ -n "$CLIENT_TOKEN" ] && [ -n "$TEAM_TOKEN" ] && [ -s "$DEV_JWKS_FILE" ]
ok $? "dev-token makes a client and a team token" || diag "$tmp/token.err"

# --- the package ---------------------------------------------------------
allow=()
if grep -Eq '^SAN_CFLAGS = .*-fsanitize' "$top_builddir/Makefile" 2>/dev/null; then
	# Sanitizer runtimes come from this host's gcc and need its newer glibc.
	allow=(--allow-glibc)
	echo "# sanitizer build: packaging with --allow-glibc (the zip runs here, not on Lambda)"
fi
"$top_srcdir/scripts/package-lambda" --binary "$BOOTSTRAP" --out "$tmp/lambda.zip" "${allow[@]}" \
	>"$tmp/package.out" 2>&1
rc=$?
[ $rc -eq 0 ] && [ -s "$tmp/lambda.zip" ]
ok $? "package-lambda builds the zip${allow:+ (glibc check relaxed)}" || diag "$tmp/package.out"
echo "# $(tail -n 1 "$tmp/package.out")"

task=$tmp/task
mkdir "$task"
unzip -q "$tmp/lambda.zip" -d "$task" 2>"$tmp/unzip.err"
[ -x "$task/bootstrap" ] && [ -d "$task/lib" ] && [ "$(find "$task" -maxdepth 1 | wc -l)" -eq 3 ]
ok $? "the zip holds an executable bootstrap and lib/, nothing else" || ls -la "$task" | sed 's/^/#   /'

# Every library the bootstrap loads comes from lib/, except glibc's own.
glibc_re='/(libc|libm|libpthread|libdl|librt|libresolv|libutil|libanl|libnss_[a-z]+|libmvec)\.so'
env -i LD_LIBRARY_PATH="$task/lib" ldd "$task/bootstrap" >"$tmp/ldd.out" 2>&1
awk -v task="$task/lib/" -v re="$glibc_re" '$2 == "=>" {
	if ($3 == "not") { print "missing: " $1; bad = 1 }
	else if (index($3, task) != 1 && $3 !~ re) { print "from the host: " $3; bad = 1 }
} END { exit bad }' "$tmp/ldd.out" >"$tmp/ldd.bad"
ok $? "every library but glibc's is loaded from the package's lib/" || diag "$tmp/ldd.bad"

# --- the Runtime API stand-in and the bootstrap ---------------------------
# start_standin NAME EVENT...: starts a stand-in writing into $tmp/NAME; sets $port.
start_standin() {
	local name=$1 i
	shift
	python3 "$STANDIN" --out "$tmp/$name" --port-file "$tmp/$name.port" \
		--subst "@CLIENT_TOKEN@=$CLIENT_TOKEN" --subst "@TEAM_TOKEN@=$TEAM_TOKEN" \
		"$@" 2>"$tmp/$name.standin.err" &
	pids+=($!)
	port=
	for ((i = 0; i < 100; i++)); do
		if [ -s "$tmp/$name.port" ]; then
			port=$(cat "$tmp/$name.port")
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# The environment Lambda gives a provided.al2023 function, plus SPEC §3 settings.
lambda_env=(
	AWS_LAMBDA_FUNCTION_NAME=turbotech-portal-test
	AWS_LAMBDA_FUNCTION_VERSION='$LATEST'
	AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256
	AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/turbotech-portal-test
	AWS_LAMBDA_LOG_STREAM_NAME='2026/11/24/[$LATEST]0123456789abcdef'
	AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023
	AWS_REGION=us-east-1
	AWS_DEFAULT_REGION=us-east-1
	AWS_ACCESS_KEY_ID=ASIALAMBDATEST
	AWS_SECRET_ACCESS_KEY=lambda-test-secret
	AWS_SESSION_TOKEN=lambda-test-session-token
	LAMBDA_TASK_ROOT="$task"
	LAMBDA_RUNTIME_DIR="$task"
	LD_LIBRARY_PATH="$task/lib"
	PATH=/usr/local/bin:/usr/bin:/bin
	TZ=:UTC
	LANG=en_US.UTF-8
	_HANDLER=bootstrap
	AWS_EC2_METADATA_DISABLED=true
	PORTAL_TABLE_PREFIX="$PORTAL_TABLE_PREFIX"
	AWS_ENDPOINT_URL_DYNAMODB="$AWS_ENDPOINT_URL_DYNAMODB"
	AUTH_JWKS_URL="file://$DEV_JWKS_FILE"
	AUTH_ISSUER="$DEV_ISSUER"
	CORS_ALLOW_ORIGINS="$ORIGIN"
	LOG_LEVEL=info
)
# Sanitizer settings pass through, so a sanitizer build reports as usual.
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
	[ -z "${!v:-}" ] || lambda_env+=("$v=${!v}")
done

# wait_for PID SECONDS: waits for the process to end; $rc is its status (124 on timeout).
wait_for() {
	local pid=$1 limit=$(($2 * 10)) i
	for ((i = 0; i < limit; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			rc=$?
			return 0
		fi
		sleep 0.1
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=124
	return 1
}

# A body one byte over the limit (SPEC: 413 payload_too_large).
python3 - "$EVENTS/v2_post_update.json" "$tmp/v2_post_too_large.json" <<'EOF'
import json, sys
ev = json.load(open(sys.argv[1]))
ev["body"] = json.dumps({"title": "big", "body": "x" * (64 * 1024), "type": "progress"})
json.dump(ev, open(sys.argv[2], "w"))
EOF

# The API docs (issue 15): served on Lambda from the bytes embedded in
# bootstrap. Events made from the health event with another path.
docs_event() {	# NAME PATH [IF-NONE-MATCH]
	jq --arg p "$2" --arg inm "${3:-}" '.rawPath = $p | .requestContext.http.path = $p
		| .pathParameters.proxy = ($p | ltrimstr("/api/"))
		| if $inm != "" then .headers["if-none-match"] = $inm else . end' \
		"$EVENTS/v2_get_health.json" >"$tmp/$1.json"
}
python3 "$top_srcdir/src/docs/embed.py" --yaml-to-json "$top_srcdir/openapi.yaml" >"$tmp/openapi.json"
openapi_etag="\"$(sha256sum "$tmp/openapi.json" | cut -c1-32)\""
docs_event v2_get_openapi /api/openapi.json
docs_event v2_get_openapi_304 /api/openapi.json "$openapi_etag"
docs_event v2_get_docs /api/docs
docs_event v2_get_docs_bundle /api/docs/swagger-ui-bundle.js

events=(
	"$EVENTS/v2_get_health.json"
	"$EVENTS/v2_get_deliverables.json"
	"$EVENTS/v2_post_update.json"
	"$EVENTS/v2_post_base64.json"
	"$EVENTS/v1_get_deliverables.json"
	"$EVENTS/furl_get_me.json"
	"$EVENTS/v2_get_health_stage.json"
	"$EVENTS/malformed_truncated.json"
	"$EVENTS/not_http_s3.json"
	"$tmp/v2_post_too_large.json"
)
for ((i = 0; i < DASHBOARD_RUNS; i++)); do
	events+=("$EVENTS/v2_get_dashboard.json")
done
events+=("$tmp/v2_get_openapi.json" "$tmp/v2_get_openapi_304.json" "$tmp/v2_get_docs.json"
	"$tmp/v2_get_docs_bundle.json")
nevents=${#events[@]}

start_standin run "${events[@]}"
ok $? "the Runtime API stand-in starts"
out=$tmp/run

started_ns=$(date +%s%N)
env -i "${lambda_env[@]}" AUTH0_AUDIENCE="$DEV_AUDIENCE" AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" \
	"$task/bootstrap" --max-invocations "$nevents" >"$tmp/bootstrap.out" 2>"$tmp/bootstrap.err" &
bpid=$!
pids+=("$bpid")
wait_for "$bpid" "$RUN_LIMIT_S"
[ $rc -eq 0 ]
ok $? "the packaged bootstrap serves $nevents invocations from a clean environment and exits 0 (status $rc)" ||
	diag "$tmp/bootstrap.err"
[ "$(grep -c '^next_request' "$out/timeline.log" 2>/dev/null)" -eq "$nevents" ]
ok $? "it asked /next exactly once per invocation"

# resp ID: the response document of invocation ID ("NN-stem").
resp() { cat "$out/$1.response" 2>/dev/null; }
# body ID: the HTTP body inside it, as JSON.
body() { resp "$1" | jq -r '.body' 2>/dev/null; }

id=01-v2_get_health
resp $id | jq -e '.statusCode == 200 and .isBase64Encoded == false and .cookies == []
	and (.headers["Content-Type"] | startswith("application/json"))
	and (.headers["X-Request-Id"] | length > 0)' >/dev/null &&
	body $id | jq -e '.status == "ok" and .dynamodb == "ok"' >/dev/null
ok $? "HTTP API v2 GET /api/health: 200, JSON body, X-Request-Id, v2 shape" || resp $id | sed 's/^/#   /'

id=02-v2_get_deliverables
resp $id | jq -e --arg o "$ORIGIN" '.statusCode == 200
	and .headers["X-Request-Id"] == "lambda-test-deliverables-1"
	and .headers["Access-Control-Allow-Origin"] == $o' >/dev/null &&
	body $id | jq -e '.count == 4 and ([.items[].month] | unique) == [2]' >/dev/null
ok $? "v2 GET /api/deliverables?month=2 with cookies and a client token: 200, count 4, CORS, caller's request id" ||
	resp $id | cut -c1-600 | sed 's/^/#   /'

id=03-v2_post_update
resp $id | jq -e '.statusCode == 201 and (.headers.Location | startswith("/api/updates/"))' >/dev/null &&
	body $id | jq -e '.title == "Lambda deploy" and .type == "milestone" and .author.id == "auth0|seed-team"' >/dev/null
ok $? "v2 POST /api/updates (JSON, team token): 201 with Location, author embedded" ||
	resp $id | cut -c1-600 | sed 's/^/#   /'

id=04-v2_post_base64
resp $id | jq -e '.statusCode == 201' >/dev/null &&
	body $id | jq -e '.title == "Base64 ✓ update" and (.body | contains("café, 测试"))' >/dev/null
ok $? "v2 POST with a base64 body: 201, UTF-8 text intact" || resp $id | cut -c1-600 | sed 's/^/#   /'

id=05-v1_get_deliverables
resp $id | jq -e '.statusCode == 200 and (has("cookies") | not) and (.headers | type) == "object"
	and .isBase64Encoded == false' >/dev/null &&
	body $id | jq -e '.count == 3 and ([.items[].status] | unique) == ["COMPLETED"]' >/dev/null
ok $? "REST API v1 GET /api/deliverables?month=1&status=COMPLETED: 200, count 3, v1 shape" ||
	resp $id | cut -c1-600 | sed 's/^/#   /'

id=06-furl_get_me
resp $id | jq -e '.statusCode == 200' >/dev/null &&
	body $id | jq -e '.id == "auth0|seed-team" and .role == "team"' >/dev/null
ok $? "Function URL GET /api/users/me: 200, the team user" || resp $id | cut -c1-600 | sed 's/^/#   /'

id=07-v2_get_health_stage
resp $id | jq -e '.statusCode == 200' >/dev/null
ok $? "v2 event on a named stage: the stage is not part of the route" || resp $id | sed 's/^/#   /'

for id in 08-malformed_truncated 09-not_http_s3; do
	[ ! -e "$out/$id.response" ] &&
		jq -e '.errorType == "Runtime.InvalidEvent" and (.errorMessage | length > 0)' "$out/$id.error" >/dev/null &&
		jq -e '.["lambda-runtime-function-error-type"] == "Runtime.InvalidEvent"' "$out/$id.error.headers" >/dev/null
	ok $? "${id#*-} event: an invocation error with errorType and the error-type header" ||
		cat "$out/$id.error" 2>/dev/null | sed 's/^/#   /'
done
echo "# $(jq -r .errorMessage "$out/08-malformed_truncated.error" 2>/dev/null)"

id=10-v2_post_too_large
resp $id | jq -e '.statusCode == 413' >/dev/null &&
	body $id | jq -e '.error.code == "payload_too_large"' >/dev/null
ok $? "a body over 64 KiB: 413 payload_too_large" || resp $id | cut -c1-400 | sed 's/^/#   /'

all_dash=0
for ((i = 0; i < DASHBOARD_RUNS; i++)); do
	id=$(printf '%02d-v2_get_dashboard' $((11 + i)))
	resp "$id" | jq -e '.statusCode == 200' >/dev/null &&
		body "$id" | jq -e 'has("overall_progress") and .deliverables.total == 12' >/dev/null || all_dash=1
done
ok $all_dash "v2 GET /api/dashboard: 200 with overall_progress, $DASHBOARD_RUNS times"

docs_n=$((11 + DASHBOARD_RUNS))
id=$(printf '%02d-v2_get_openapi' $docs_n)
resp $id | jq -e --arg e "$openapi_etag" '.statusCode == 200 and .isBase64Encoded == false
	and .headers.ETag == $e and (.headers["Cache-Control"] | startswith("public, max-age="))
	and (.headers["Content-Type"] | startswith("application/json"))' >/dev/null &&
	[ "$(body $id)" = "$(cat "$tmp/openapi.json")" ]
ok $? "v2 GET /api/openapi.json without a token: openapi.yaml converted, ETag, public caching" ||
	resp $id | cut -c1-400 | sed 's/^/#   /'
id=$(printf '%02d-v2_get_openapi_304' $((docs_n + 1)))
resp $id | jq -e --arg e "$openapi_etag" '.statusCode == 304 and .body == "" and .headers.ETag == $e' >/dev/null
ok $? "v2 GET /api/openapi.json with If-None-Match: 304, no body" || resp $id | cut -c1-400 | sed 's/^/#   /'
id=$(printf '%02d-v2_get_docs' $((docs_n + 2)))
resp $id | jq -e '.statusCode == 200 and (.headers["Content-Type"] | startswith("text/html"))
	and (.headers["Content-Security-Policy"] | contains("default-src \u0027none\u0027"))
	and (.body | contains("docs/swagger-ui-bundle.js?v="))' >/dev/null
ok $? "v2 GET /api/docs without a token: the Swagger UI page with its CSP" || resp $id | cut -c1-400 | sed 's/^/#   /'
id=$(printf '%02d-v2_get_docs_bundle' $((docs_n + 3)))
# nginx serves apidocs/ of the build (or, in a build from the tarball, of the sources).
bundle=$top_builddir/apidocs/swagger-ui-bundle.js
[ -f "$bundle" ] || bundle=$top_srcdir/apidocs/swagger-ui-bundle.js
resp $id | jq -j '.body' >"$tmp/bundle.js" 2>/dev/null
resp $id | jq -e '.statusCode == 200 and .isBase64Encoded == false
	and .headers["Content-Type"] == "text/javascript; charset=utf-8"' >/dev/null &&
	cmp -s "$tmp/bundle.js" "$bundle"
ok $? "v2 GET /api/docs/swagger-ui-bundle.js: the same bytes nginx serves, as JavaScript" ||
	resp $id | cut -c1-300 | sed 's/^/#   /'

# Logs: JSON lines only, carrying the Lambda request id and the trace id.
bad_lines=$(grep -cv '^{' "$tmp/bootstrap.err")
jq -e . "$tmp/bootstrap.err" >/dev/null 2>&1 && [ "$bad_lines" -eq 0 ] &&
	jq -se 'map(select(.msg == "invocation" and .aws_request_id == "02-v2_get_deliverables"
		and (.trace_id | startswith("Root=1-")) and .status == 200)) | length == 1' "$tmp/bootstrap.err" >/dev/null
ok $? "logs are JSON lines with the Lambda request id and trace id" || diag "$tmp/bootstrap.err"
jq -se 'map(select(.msg == "request" and .aws_request_id == "02-v2_get_deliverables"
	and (.trace_id | startswith("Root=1-")) and (.request_id | length > 0))) | length == 1' "$tmp/bootstrap.err" >/dev/null
ok $? "the router's access line carries the Lambda request id, the trace id and the HTTP request id" || diag "$tmp/bootstrap.err"

# Warm state: one start-up, the JWKS fetched once for all the authenticated invocations.
[ "$(jq -s 'map(select(.msg == "lambda runtime ready")) | length' "$tmp/bootstrap.err" 2>/dev/null)" = 1 ] &&
	[ "$(jq -s 'map(select((.msg // "") | test("JWKS.*load"; "i"))) | length' "$tmp/bootstrap.err" 2>/dev/null)" = 1 ] &&
	[ "$(jq -s 'map(select(.msg == "invocation" and .cold)) | length' "$tmp/bootstrap.err" 2>/dev/null)" = 1 ]
ok $? "warm state survives invocations: one start-up, one JWKS fetch, one cold invocation" ||
	grep -i 'jwks\|ready' "$tmp/bootstrap.err" | sed 's/^/#   /'

# Timings from the stand-in's timeline (nanoseconds).
first_next=$(awk '$1 == "next_request" { print $2; exit }' "$out/timeline.log")
echo "# cold start (process start to first /next): $(((first_next - started_ns) / 1000000)) ms"
awk '$1 == "next_sent" && $3 ~ /dashboard/ { sent[$3] = $2 }
	$1 == "response" && $3 ~ /dashboard/ { d = ($2 - sent[$3]) / 1e6; sum += d; n++
		if (min == "" || d < min) min = d; if (d > max) max = d }
	END { if (n) printf "# /api/dashboard per invocation (%d warm): mean %.2f ms, min %.2f ms, max %.2f ms\n", n, sum / n, min, max }' \
	"$out/timeline.log"
awk '$1 == "next_sent" { sent[$3] = $2 } $1 == "response" && $3 ~ /^01-/ {
	printf "# first invocation (GET /api/health, cold): %.2f ms\n", ($2 - sent[$3]) / 1e6 }' "$out/timeline.log"

# Embedded metrics in the default (project) log format: one valid EMF line per HTTP invocation.
$CHECK_LOGS "$tmp/bootstrap.err" --schema "$EMF_SCHEMA" --emf-out "$tmp/run.emf" 2>"$tmp/run.check"
ok $? "default format: every line is JSON, every EMF line valid against the EMF schema" || diag "$tmp/run.check"
[ "$(wc -l <"$tmp/run.emf")" -eq $((nevents - 2)) ] &&
	jq -se --arg n "$DASHBOARD_RUNS" 'map(select(.route == "/api/dashboard")) | length == ($n | tonumber)' \
		"$tmp/run.emf" >/dev/null &&
	jq -se 'map(select(.requestId == "02-v2_get_deliverables")) | .[0] |
		.route == "/api/deliverables" and .Requests == 1 and .DynamoDBCalls >= 1 and .Errors5xx == 0' \
		"$tmp/run.emf" >/dev/null
ok $? "one EMF line per HTTP invocation ($((nevents - 2))), none for invalid events; route, calls, errors" ||
	diag "$tmp/run.emf"

# --- Lambda's advanced logging controls, Secrets Manager, scheduled events ---
# start_bg NAME COMMAND...: starts a helper that writes its port to $tmp/NAME.port; sets $port.
start_bg() {
	local name=$1 i
	shift
	"$@" --port-file "$tmp/$name.port" 2>"$tmp/$name.err" &
	pids+=($!)
	port=
	for ((i = 0; i < 100; i++)); do
		if [ -s "$tmp/$name.port" ]; then
			port=$(cat "$tmp/$name.port")
			return 0
		fi
		sleep 0.1
	done
	return 1
}
start_bg secrets python3 "$SECRETS_STANDIN" --log "$tmp/secrets.log" --region us-east-1 \
	--key ASIALAMBDATEST=lambda-test-secret --secret "$DIGEST_SECRET_NAME=$DIGEST_SECRET_VALUE" --fail-first 1
secrets_port=$port
echo ok >"$tmp/llm.control"
start_bg llm python3 "$LLM_STANDIN" --log "$tmp/llm.log" --control "$tmp/llm.control" --key "$DIGEST_SECRET_VALUE"
llm_port=$port
[ -n "$secrets_port" ] && [ -n "$llm_port" ]
ok $? "the Secrets Manager and LLM stand-ins start"

# Events: a metric by id (route pattern), an unknown path, two scheduled events
# (same hour: one digest), the feed, another EventBridge event (not ours).
python3 - "$EVENTS/v2_get_health.json" "$tmp" <<'EOF'
import json, sys
base = json.load(open(sys.argv[1]))
def variant(name, path):
    ev = json.loads(json.dumps(base))
    ev["rawPath"] = path
    ev["requestContext"]["http"]["path"] = path
    ev["headers"]["authorization"] = "Bearer @CLIENT_TOKEN@"
    json.dump(ev, open("%s/%s.json" % (sys.argv[2], name), "w"))
variant("v2_get_metric_2", "/api/metrics/2")
variant("v2_get_unknown", "/api/no/such/route")
variant("v2_get_feed", "/api/updates")
EOF
json_events=(
	"$tmp/v2_get_metric_2.json"
	"$tmp/v2_get_unknown.json"
	"$EVENTS/scheduled_digest.json"
	"$EVENTS/scheduled_digest.json"
	"$tmp/v2_get_feed.json"
	"$EVENTS/eventbridge_other.json"
)
start_standin json "${json_events[@]}"
ok $? "the Runtime API stand-in starts (JSON log format run)"
# Same UTC hour for both scheduled events: wait out the last seconds of an hour.
ms=$(date -u +%M%S)
[ "$ms" -lt 5945 ] || sleep $((3600 - 10#${ms:0:2} * 60 - 10#${ms:2:2} + 1))
env -i "${lambda_env[@]}" LOG_LEVEL=error AWS_LAMBDA_LOG_FORMAT=JSON AWS_LAMBDA_LOG_LEVEL=INFO \
	AUTH0_AUDIENCE="$DEV_AUDIENCE" AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" \
	DIGEST_API_URL="http://127.0.0.1:$llm_port/v1" DIGEST_MODEL=stand-in-model \
	DIGEST_API_KEY_SECRET="$DIGEST_SECRET_NAME" AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$secrets_port" \
	"$task/bootstrap" --max-invocations "${#json_events[@]}" >"$tmp/json.out" 2>"$tmp/json.err" &
bpid=$!
pids+=("$bpid")
wait_for "$bpid" "$RUN_LIMIT_S"
[ $rc -eq 0 ]
ok $? "JSON format run: ${#json_events[@]} invocations, exit 0 (status $rc)" || diag "$tmp/json.err"
out=$tmp/json

$CHECK_LOGS "$tmp/json.err" --schema "$EMF_SCHEMA" --lambda-json --min-level INFO \
	--emf-out "$tmp/json.emf" 2>"$tmp/json.check"
ok $? "AWS_LAMBDA_LOG_FORMAT=JSON: every line is Lambda's JSON shape (timestamp, level, message, requestId) or valid EMF" ||
	diag "$tmp/json.check"
jq -se 'map(select(.message == "invocation")) | length == 5 and
	(map(.requestId) | sort == ["01-v2_get_metric_2","02-v2_get_unknown","03-scheduled_digest","04-scheduled_digest","05-v2_get_feed"])' \
	"$tmp/json.err" >/dev/null &&
	jq -se 'map(select(.message == "request" and .requestId == "01-v2_get_metric_2" and .level == "INFO"
		and (.request_id | length > 0) and (.trace_id | startswith("Root=1-")) and .path == "/api/metrics/2")) | length == 1' \
		"$tmp/json.err" >/dev/null
ok $? "AWS_LAMBDA_LOG_LEVEL=INFO wins over LOG_LEVEL=error: INFO lines with requestId, request id and trace id" ||
	diag "$tmp/json.err"
[ "$(wc -l <"$tmp/json.emf")" -eq 3 ] &&
	jq -se '[.[] | {(.requestId): .route}] | add ==
		{"01-v2_get_metric_2":"/api/metrics/{id}","02-v2_get_unknown":"unmatched","05-v2_get_feed":"/api/updates"}' \
		"$tmp/json.emf" >/dev/null &&
	! grep -q '/api/metrics/2"' "$tmp/json.emf"
ok $? "EMF: one line per HTTP invocation, route = the pattern (/api/metrics/{id}, unmatched), never the raw path" ||
	diag "$tmp/json.emf"
echo "# one invocation's lines (01-v2_get_metric_2):"
grep '"01-v2_get_metric_2"' "$tmp/json.err" | sed 's/^/#   /'

resp 03-scheduled_digest | jq -e '.published == true and .status == 201 and .update.type == "digest"
	and .update.author == {"id":"portal|digest","name":"Portal digest"}
	and (.update.id | test("^[0-9]{8}T[0-9]{2}0000Z-digest07$"))
	and (.update.body | contains("Written by the stand-in for model stand-in-model"))' >/dev/null
ok $? "scheduled event: the digest posted by portal|digest, written by the LLM with the key from Secrets Manager" ||
	resp 03-scheduled_digest | cut -c1-600 | sed 's/^/#   /'
[ "$(resp 04-scheduled_digest | jq -r '[.published, .status, .update.id] | @tsv')" = \
	"$(printf 'false\t200\t%s' "$(resp 03-scheduled_digest | jq -r .update.id)")" ] &&
	body 05-v2_get_feed | jq -e '[.items[] | select(.type == "digest")] | length == 1' >/dev/null
ok $? "a second scheduled event in the same hour posts nothing (200, the same update); the feed holds one digest" ||
	{ resp 04-scheduled_digest; body 05-v2_get_feed; } 2>&1 | cut -c1-600 | sed 's/^/#   /'
id=06-eventbridge_other
[ ! -e "$out/$id.response" ] &&
	jq -e '.errorType == "Runtime.InvalidEvent" and (.errorMessage | contains("scheduled event"))' "$out/$id.error" >/dev/null
ok $? "another EventBridge event (aws.ec2): a clear invocation error" || cat "$out/$id.error" 2>/dev/null | sed 's/^/#   /'
jq -se --arg s "$DIGEST_SECRET_NAME" 'length == 2 and .[0].status == 503 and .[1].status == 200 and all(.signature_ok)
	and all(.target == "secretsmanager.GetSecretValue") and all(.secret_id == $s)' \
	"$tmp/secrets.log" >/dev/null &&
	[ "$(grep -c "Bearer $DIGEST_SECRET_VALUE" "$tmp/llm.log")" -ge 1 ] &&
	! grep -q "$DIGEST_SECRET_VALUE" "$tmp/json.err"
ok $? "the secret is read once at start-up (a 503 retried), SigV4-signed, and never logged" ||
	diag "$tmp/secrets.log"

# AWS_LAMBDA_LOG_LEVEL=ERROR drops INFO lines (LOG_LEVEL=debug notwithstanding); EMF stays.
start_standin quiet "$EVENTS/v2_get_health.json"
env -i "${lambda_env[@]}" LOG_LEVEL=debug AWS_LAMBDA_LOG_FORMAT=JSON AWS_LAMBDA_LOG_LEVEL=ERROR \
	AUTH0_AUDIENCE="$DEV_AUDIENCE" AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" \
	"$task/bootstrap" --max-invocations 1 >"$tmp/quiet.out" 2>"$tmp/quiet.err" &
bpid=$!
pids+=("$bpid")
wait_for "$bpid" 20
[ $rc -eq 0 ] && $CHECK_LOGS "$tmp/quiet.err" --schema "$EMF_SCHEMA" --lambda-json --min-level ERROR \
	--emf-out "$tmp/quiet.emf" 2>"$tmp/quiet.check" &&
	[ "$(wc -l <"$tmp/quiet.emf")" -eq 1 ] && [ "$(wc -l <"$tmp/quiet.err")" -eq 1 ]
ok $? "AWS_LAMBDA_LOG_LEVEL=ERROR: no INFO or DEBUG line, the EMF line still written" ||
	{ diag "$tmp/quiet.check"; diag "$tmp/quiet.err"; }

# Start-up failures other than a missing setting also go to /runtime/init/error.
# expect_init_error NAME TYPE TEXT ENV...: a bootstrap started with ENV posts
# TYPE with TEXT in its message, exits non-zero, and never asks for /next.
expect_init_error() {
	local name=$1 type=$2 text=$3
	shift 3
	start_standin "$name"
	env -i "${lambda_env[@]}" AUTH0_AUDIENCE="$DEV_AUDIENCE" AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" "$@" \
		"$task/bootstrap" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	bpid=$!
	pids+=("$bpid")
	wait_for "$bpid" 30
	[ $rc -ne 0 ] && [ $rc -ne 124 ] &&
		jq -e --arg t "$type" --arg x "$text" '.errorType == $t and (.errorMessage | contains($x))' \
			"$tmp/$name/init.error" >/dev/null &&
		! grep -q '^next_request' "$tmp/$name/timeline.log"
}
secret_env=(DIGEST_API_URL="http://127.0.0.1:$llm_port/v1" DIGEST_MODEL=m
	AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$secrets_port")
expect_init_error badsig Runtime.InitError InvalidSignatureException "${secret_env[@]}" \
	DIGEST_API_KEY_SECRET="$DIGEST_SECRET_NAME" AWS_SECRET_ACCESS_KEY=not-the-secret-key &&
	[ "$(jq -s 'map(select(.signature_ok == false)) | length' "$tmp/secrets.log")" -ge 1 ]
ok $? "a wrongly signed GetSecretValue (the stand-in checks SigV4): Runtime.InitError, no /next" ||
	{ diag "$tmp/badsig.err"; cat "$tmp/badsig/init.error" 2>/dev/null | sed 's/^/#   /'; }
expect_init_error nosecret Runtime.InitError ResourceNotFoundException "${secret_env[@]}" \
	DIGEST_API_KEY_SECRET=turbotech/no-such-secret
ok $? "a secret that does not exist: Runtime.InitError naming it" || diag "$tmp/nosecret.err"
expect_init_error badlevel Runtime.ConfigError AWS_LAMBDA_LOG_LEVEL AWS_LAMBDA_LOG_LEVEL=LOUD
ok $? "AWS_LAMBDA_LOG_LEVEL=LOUD: Runtime.ConfigError naming it" || diag "$tmp/badlevel.err"
expect_init_error bothkeys Runtime.ConfigError DIGEST_API_KEY_SECRET "${secret_env[@]}" \
	DIGEST_API_KEY_SECRET="$DIGEST_SECRET_NAME" DIGEST_API_KEY=plain
ok $? "DIGEST_API_KEY_SECRET with DIGEST_API_KEY: Runtime.ConfigError" || diag "$tmp/bothkeys.err"

# A crash during start-up (here: SIGSEGV while the secret is being read from a
# slow Secrets Manager) is reported to /runtime/init/error, and the process ends.
start_bg slowsecrets python3 "$SECRETS_STANDIN" --log "$tmp/slowsecrets.log" --region us-east-1 \
	--key ASIALAMBDATEST=lambda-test-secret --secret "$DIGEST_SECRET_NAME=$DIGEST_SECRET_VALUE" --delay-s 30
slow_port=$port
start_standin crash
env -i "${lambda_env[@]}" AUTH0_AUDIENCE="$DEV_AUDIENCE" AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" \
	DIGEST_API_URL="http://127.0.0.1:$llm_port/v1" DIGEST_MODEL=m DIGEST_API_KEY_SECRET="$DIGEST_SECRET_NAME" \
	AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$slow_port" \
	"$task/bootstrap" >"$tmp/crash.out" 2>"$tmp/crash.err" &
bpid=$!
pids+=("$bpid")
sleep 3
kill -SEGV "$bpid" 2>/dev/null
wait_for "$bpid" 20
[ $rc -eq 1 ] &&
	jq -e '.errorType == "Runtime.InitError" and (.errorMessage | test("crashed during start-up \\(signal 11\\)"))' \
		"$tmp/crash/init.error" >/dev/null &&
	jq -e '.["lambda-runtime-function-error-type"] == "Runtime.InitError"' "$tmp/crash/init.error.headers" >/dev/null &&
	! grep -q '^next_request' "$tmp/crash/timeline.log"
ok $? "a crash (SIGSEGV) during start-up: Runtime.InitError to /runtime/init/error, exit 1, no /next" ||
	{ diag "$tmp/crash.err"; cat "$tmp/crash/init.error" 2>/dev/null | sed 's/^/#   /'; echo "# status $rc"; }

# --- start-up failure: a missing setting -> /runtime/init/error ----------
start_standin badcfg
env -i "${lambda_env[@]}" AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" \
	"$task/bootstrap" >"$tmp/badcfg.out" 2>"$tmp/badcfg.err" &
bpid=$!
pids+=("$bpid")
wait_for "$bpid" 20
[ $rc -ne 0 ] && [ $rc -ne 124 ] &&
	jq -e '.errorType == "Runtime.ConfigError" and (.errorMessage | contains("AUTH0_AUDIENCE"))' \
		"$tmp/badcfg/init.error" >/dev/null &&
	jq -e '.["lambda-runtime-function-error-type"] == "Runtime.ConfigError"' \
		"$tmp/badcfg/init.error.headers" >/dev/null &&
	! grep -q '^next_request' "$tmp/badcfg/timeline.log"
ok $? "missing AUTH0_AUDIENCE: /runtime/init/error naming it, exit $rc, no /next" || diag "$tmp/badcfg.err"

# --- start-up failure: an endpoint that is not a usable URL -> /runtime/init/error
start_standin badurl
env -i "${lambda_env[@]}" AUTH0_AUDIENCE="$DEV_AUDIENCE" AWS_ENDPOINT_URL_DYNAMODB='http://[x' \
	AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" \
	"$task/bootstrap" >"$tmp/badurl.out" 2>"$tmp/badurl.err" &
bpid=$!
pids+=("$bpid")
wait_for "$bpid" 20
[ $rc -ne 0 ] && [ $rc -lt 128 ] &&
	jq -e '.errorType == "Runtime.ConfigError" and (.errorMessage | contains("AWS_ENDPOINT_URL_DYNAMODB"))' \
		"$tmp/badurl/init.error" >/dev/null &&
	! grep -q '^next_request' "$tmp/badurl/timeline.log"
ok $? "AWS_ENDPOINT_URL_DYNAMODB='http://[x': /runtime/init/error naming it, exit $rc (no crash), no /next" ||
	diag "$tmp/badurl.err"

# --- outside Lambda ------------------------------------------------------
env -i "$task/bootstrap" >"$tmp/nolambda.out" 2>"$tmp/nolambda.err"
rc=$?
[ $rc -eq 2 ] && grep -q 'AWS_LAMBDA_RUNTIME_API' "$tmp/nolambda.err" && [ "$(wc -l <"$tmp/nolambda.err")" -eq 1 ]
ok $? "without AWS_LAMBDA_RUNTIME_API: one clear line, exit 2" || diag "$tmp/nolambda.err"

env -i LD_LIBRARY_PATH="$task/lib" "$task/bootstrap" --help >"$tmp/help.out" 2>&1
[ $? -eq 0 ] && grep -q 'provided.al2023' "$tmp/help.out"
ok $? "--help describes the runtime"

tap_end
