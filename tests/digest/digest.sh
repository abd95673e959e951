#!/bin/sh
# digest.sh - GET /api/digest end to end through the real stack (nginx, the
# FastCGI workers, dynalite with the seed data): the built-in digest with no
# DIGEST_* set, days validation, then the LLM digest against a local
# chat-completions stand-in (tests/digest/llm_standin.py) in every mode:
# ok, cached, 500, invalid JSON, empty content, wrong key, slow past the
# 10 s timeout, each ending in the right source. Prints TAP.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../../scripts/lib/common.sh
. "$top_srcdir/scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/stack.sh
. "$ROOT/scripts/lib/stack.sh"

SLOW_SECONDS=12		# the stand-in's delay in the slow case, past the 10 s timeout
LLM_TIMEOUT_S=10	# the digest's total timeout for one LLM call

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { local name=$1; shift; if "$@" >/dev/null; then ok "$name"; else not_ok "$name"; fi; }

work=$(mktemp -d "${TMPDIR:-/tmp}/digest-test.XXXXXX") || exit 1
standin_pid=
cleanup() {
	stack_stop
	if [ -n "$standin_pid" ]; then
		kill "$standin_pid" 2>/dev/null
		wait "$standin_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# One worker process (the cache is per process), more threads than nginx keeps
# connections to it (each kept connection pins a thread).
export LOG_LEVEL=info STACK_PROCESSES=1 STACK_THREADS=8 STACK_NGINX_WORKERS=1 DYNALITE_TABLE_MS=0
unset DIGEST_API_URL DIGEST_API_KEY DIGEST_MODEL AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL PORTAL_TABLE_PREFIX
export PORTAL_ENV=digesttest
# A request budget above the LLM's own time-out, so the slow case shows that
# time-out (the default 5 s budget would end the request first).
export PORTAL_REQUEST_TIMEOUT_MS=$(( (LLM_TIMEOUT_S + 5) * 1000 ))

# GET path with a token: the body in $work/out, the status in $code.
get() {
	code=$(curl -s -o "$work/out" -w '%{http_code}' --max-time 30 \
		-H "Authorization: Bearer $1" "$STACK_URL$2")
}

# POSTs an update (team token) so the period's data, and the cache key, change.
post_update() {
	local c
	c=$(curl -s -o "$work/post" -w '%{http_code}' --max-time 10 -X POST \
		-H "Authorization: Bearer $team_token" -H 'Content-Type: application/json' \
		--data "{\"title\":\"$1\",\"body\":\"Posted by the digest test.\",\"type\":\"progress\",\"deliverable_id\":5}" \
		"$STACK_URL/api/updates")
	[ "$c" = 201 ] || { echo "# POST /api/updates answered $c: $(cat "$work/post")"; return 1; }
}

# Seconds between two RFC 3339 times.
span() { echo $(( $(date -u -d "$2" +%s) - $(date -u -d "$1" +%s) )); }

# Stand-in requests recorded so far.
recorded() { [ -f "$work/llm.log" ] && wc -l <"$work/llm.log" || echo 0; }

# True when the response ($work/out) is a 200 digest from source $1.
is_source() {
	[ "$code" = 200 ] && [ "$(jq -r .source "$work/out")" = "$1" ] &&
		jq -e '.digest | type == "string" and length > 0' "$work/out" >/dev/null
}

# ---- 1. the built-in digest (no DIGEST_* set) ----
STACK_DIR=$work/stack-builtin PORT=$(free_port)
export STACK_DIR PORT
if ! stack_start >"$work/stack1.err" 2>&1; then
	not_ok "the stack starts (built-in)" "$(tail -5 "$work/stack1.err")"
	echo "1..$n"
	exit 1
fi
ok "the stack starts (built-in)"
client_token=$("$ROOT/scripts/dev-token" --role client)
team_token=$("$ROOT/scripts/dev-token" --role team)

get "$client_token" /api/digest
check "GET /api/digest -> 200 builtin" is_source builtin
check "the built-in digest names the blocked deliverable and the vendor-access reason" \
	jq -e '.digest | test("## Blocked\n\n- \\*\\*Integration API Design\\*\\*[^\n]*sandbox credentials from the estimating software vendor")' "$work/out"
missing=""
while IFS= read -r name; do
	jq -e --arg n "$name" '.digest | contains($n)' "$work/out" >/dev/null || missing="$missing [$name]"
done < <(jq -r '.metrics[].name' "$ROOT/data/seed-data.json")
check "the built-in digest names every seeded metric${missing:+ (missing:$missing)}" test -z "$missing"
check "the built-in digest lists the completed deliverables" \
	jq -e '.digest | test("## Completed\n\n- Drawing Parsing Prototype")' "$work/out"
check "days defaults to 7 and the period spans 7 days ending now" \
	test "$(jq -r .days "$work/out")" = 7 -a \
	"$(span "$(jq -r .period.from "$work/out")" "$(jq -r .period.to "$work/out")")" = $((7 * 86400)) -a \
	$(( $(date -u +%s) - $(date -u -d "$(jq -r .period.to "$work/out")" +%s) )) -lt 60
check "generated_at is RFC 3339 UTC" jq -e '.generated_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")' "$work/out"

get "$client_token" "/api/digest?days=30"
check "days=30 -> 200 with a 30-day period" \
	test "$code" = 200 -a "$(jq -r .days "$work/out")" = 30 -a \
	"$(span "$(jq -r .period.from "$work/out")" "$(jq -r .period.to "$work/out")")" = $((30 * 86400))
for q in days=0 days=91 days=abc days=7x "days=7&days=8"; do
	get "$client_token" "/api/digest?$q"
	check "?$q -> 400 validation_error naming days" \
		test "$code" = 400 -a "$(jq -r .error.code "$work/out")" = validation_error -a \
		"$(jq -r '.error.message | startswith("days:")' "$work/out")" = true
done
get "$client_token" "/api/digest?days=7&colour=red"
check "an unknown query parameter -> 400 naming it" \
	test "$code" = 400 -a "$(jq -r '.error.message | startswith("colour:")' "$work/out")" = true
code=$(curl -s -o /dev/null -w '%{http_code}' "$STACK_URL/api/digest")
check "no token -> 401" test "$code" = 401
stack_stop
# stack_start exported the endpoint of the dynalite it started; the next one starts its own.
unset AWS_ENDPOINT_URL_DYNAMODB

# ---- 2. the LLM digest against the stand-in ----
key="sk-digest-test-$RANDOM$RANDOM"
echo ok >"$work/control"
python3 "$ROOT/tests/digest/llm_standin.py" --port-file "$work/standin.port" --log "$work/llm.log" \
	--control "$work/control" --key "$key" --slow-seconds "$SLOW_SECONDS" 2>"$work/standin.err" &
standin_pid=$!
for ((i = 0; i < 100; i++)); do
	[ -s "$work/standin.port" ] && break
	sleep 0.05
done
if [ ! -s "$work/standin.port" ]; then
	not_ok "the chat-completions stand-in starts" "$(cat "$work/standin.err")"
	echo "1..$n"
	exit 1
fi
export DIGEST_API_URL="http://127.0.0.1:$(cat "$work/standin.port")/v1"
export DIGEST_API_KEY=$key DIGEST_MODEL=standin-model-1
STACK_DIR=$work/stack-llm PORT=$(free_port)
export STACK_DIR PORT
if ! stack_start >"$work/stack2.err" 2>&1; then
	not_ok "the stack starts (LLM)" "$(tail -5 "$work/stack2.err")"
	echo "1..$n"
	exit 1
fi
ok "the stack starts (LLM)"
portal_log=$STACK_DIR/logs/portal.log

# ok: the LLM's answer, and the request it got.
get "$client_token" /api/digest
check "mode ok: 200 with source llm and the stand-in's text" \
	eval 'is_source llm && jq -e ".digest | contains(\"Written by the stand-in for model standin-model-1\")" "$work/out" >/dev/null'
check "the stand-in got one request" test "$(recorded)" = 1
last() { tail -n 1 "$work/llm.log"; }
check "it was POST /v1/chat/completions" test "$(last | jq -r '.method + " " + .path')" = "POST /v1/chat/completions"
check "with Authorization: Bearer <key> and Content-Type application/json" \
	test "$(last | jq -r .authorization)" = "Bearer $key" -a "$(last | jq -r .content_type)" = application/json
check "with the model, temperature 0.2, a system and a user message" \
	eval 'last | jq -e ".body.model == \"standin-model-1\" and .body.temperature == 0.2 and
		.body.messages[0].role == \"system\" and (.body.messages[0].content | test(\"untrusted\")) and
		.body.messages[1].role == \"user\"" >/dev/null'
check "the user message is the period's data as JSON (names the blocked deliverable and its reason)" \
	eval 'last | jq -e ".body.messages[1].content | fromjson | .days == 7 and
		(.deliverables.blocked[0].name == \"Integration API Design\") and
		(.deliverables.blocked[0].reason | test(\"vendor\")) and (.metrics | length == 4)" >/dev/null'
check "the request carries no email address" eval '! last | jq -r ".body.messages[1].content" | grep -q "@"'

# cached: the same data within 10 minutes costs no call.
get "$client_token" /api/digest
check "a second GET is served from the cache (llm, no new request)" \
	eval 'is_source llm && test "$(recorded)" = 1'
get "$client_token" "/api/digest?days=14"
check "another period (days=14) is a new call" eval 'is_source llm && test "$(recorded)" = 2'

# Each failure mode on its own period (days=N: a new cache key), expecting builtin.
case_fallback() {
	local mode=$1 days=$2 logpat=$3 before
	echo "$mode" >"$work/control"
	before=$(recorded)
	get "$client_token" "/api/digest?days=$days"
	check "mode $mode: 200 with source builtin" is_source builtin
	check "mode $mode: the stand-in was called once more, for this period" \
		eval 'test "$(recorded)" = $((before + 1)) && last | jq -e ".body.messages[1].content | fromjson | .days == $days" >/dev/null'
	check "mode $mode: the answer is the built-in digest of this period" \
		jq -e --arg d "$days" '.digest | contains("# Project digest: the last \($d) days") and contains("Integration API Design")' "$work/out"
	check "mode $mode: a warning in the log says why ($logpat)" \
		eval 'grep "LLM call failed" "$portal_log" | tail -n 1 | grep -q -- "$logpat"'
}

case_fallback 500 2 '"http_status":500'
before_cached=$(recorded)
get "$client_token" "/api/digest?days=2"
check "the fallback is cached briefly: no new call on the next GET" \
	eval 'is_source builtin && test "$(recorded)" = $before_cached'
case_fallback badjson 3 'not valid JSON'
case_fallback empty 4 'content is empty'
case_fallback rotated 5 '"http_status":401'
started=$(date +%s%N)
case_fallback slow 6 '"curl_code":28'
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
check "mode slow: the call gave up at the ${LLM_TIMEOUT_S} s timeout (took $elapsed_ms ms)" \
	test "$elapsed_ms" -ge $(( (LLM_TIMEOUT_S - 1) * 1000 )) -a "$elapsed_ms" -lt $((SLOW_SECONDS * 1000))

# Back to ok: a change in the data (a new update) is a new key, and the new
# update is in the data the LLM gets.
echo ok >"$work/control"
before=$(recorded)
title="Digest test update $RANDOM"
if post_update "$title"; then
	get "$client_token" /api/digest
	check "after a new update: a new LLM call (source llm) whose data holds the update" \
		eval 'is_source llm && test "$(recorded)" = $((before + 1)) &&
			last | jq -e --arg t "$title" ".body.messages[1].content | fromjson | any(.updates[]; .title == \$t)" >/dev/null'
else
	not_ok "after a new update: a new LLM call (POST /api/updates failed)"
fi
before=$(recorded)
get "$client_token" /api/digest
check "the new answer is cached in turn (llm, no new call)" \
	eval 'is_source llm && test "$(recorded)" = $before'
check "the key never appears in the log" eval '! grep -qF -- "$key" "$portal_log"'

echo "1..$n"
[ "$failed" -eq 0 ]
