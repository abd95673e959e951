#!/bin/bash
# portalctl.sh - the admin CLI against a private dynalite: tables, seed,
# export/import round trip, user roles and the failure paths. Prints TAP.
set -u

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
DATA=$top_srcdir/tests/data/portalctl
END_TO_END_LIMIT_S=10	# longest a command may take when the store is down

tap_require_built "$PORTALCTL"

tap_scratch portalctl-test

tap_isolate "$tmp"
export DYNALITE_TABLE_MS=${DYNALITE_TABLE_MS:-50}
tap_dynalite_start "$tmp" skip
prefix_a="pctl-$$-a-"
prefix_b="pctl-$$-b-"
export PORTAL_TABLE_PREFIX=$prefix_a

# run ARGS...: runs portalctl, stdout in $tmp/out, stderr in $tmp/err, status in $rc.
run() {
	"$PORTALCTL" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
# one_line_error: stderr is exactly one line starting "portalctl: ".
one_line_error() {
	[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^portalctl: ' "$tmp/err"
}

# --- usage ---------------------------------------------------------------
run --help
[ $rc -eq 0 ] && grep -q 'tables create' "$tmp/out" && grep -q 'export \[TABLE\]' "$tmp/out"
ok $? "--help lists the commands"

run --version
[ $rc -eq 0 ] && grep -Eq '^portalctl .*[0-9]+\.[0-9]+' "$tmp/out"
ok $? "--version prints the version"

status=0
for cmd in "tables create" "tables describe" "tables delete" seed export import \
	"users list" "users set-role"; do
	# shellcheck disable=SC2086
	run $cmd --help
	if [ $rc -ne 0 ] || ! grep -q "^usage: portalctl $cmd" "$tmp/out"; then
		echo "# $cmd --help failed"
		status=1
	fi
done
ok $status "every command has --help"

run frobnicate
[ $rc -eq 2 ] && one_line_error && grep -q "unknown command 'frobnicate'" "$tmp/err"
ok $? "an unknown command is one line and exit 2"

run tables frobnicate
[ $rc -eq 2 ] && one_line_error && grep -q "unknown command 'tables frobnicate'" "$tmp/err"
ok $? "an unknown subcommand is one line and exit 2"

run export nosuch
[ $rc -eq 2 ] && one_line_error && grep -q "unknown table 'nosuch'" "$tmp/err"
ok $? "a bad table name is one line and exit 2"

run seed --bogus
[ $rc -eq 2 ] && one_line_error && grep -q "unknown option '--bogus'" "$tmp/err"
ok $? "an unknown option is one line and exit 2"

# --- tables --------------------------------------------------------------
run tables describe
[ $rc -eq 1 ] && one_line_error && grep -q "5 tables are missing" "$tmp/err" &&
	grep -q "does not exist" "$tmp/out"
ok $? "describe before create reports the missing tables"

run tables create
[ $rc -eq 0 ] && [ "$(grep -c ': created$' "$tmp/out")" -eq 5 ] &&
	grep -q "^tables: 5 created, 0 existing" "$tmp/out" &&
	grep -q "^${prefix_a}idempotency: created" "$tmp/out"
ok $? "tables create creates the four tables and the idempotency table" || diag "$tmp/err"

run tables create
[ $rc -eq 0 ] && grep -q "^tables: 0 created, 5 existing" "$tmp/out" &&
	grep -q "^${prefix_a}deliverables: exists" "$tmp/out"
ok $? "tables create again leaves them alone"

run tables describe
[ $rc -eq 0 ] && grep -q "^${prefix_a}deliverables$" "$tmp/out" &&
	grep -q "index:   MonthIndex: month (N, HASH), id (N, RANGE); projection ALL" "$tmp/out" &&
	grep -q "index:   FeedIndex: feed (S, HASH), created_at (S, RANGE); projection ALL" "$tmp/out" &&
	[ "$(grep -c 'status:  ACTIVE' "$tmp/out")" -eq 5 ] &&
	[ "$(grep -c 'billing: PAY_PER_REQUEST' "$tmp/out")" -eq 5 ] &&
	grep -q "key:     id (S, HASH)" "$tmp/out" &&
	grep -q "key:     key (S, HASH)" "$tmp/out"
ok $? "describe shows status, keys, billing, MonthIndex and FeedIndex" || diag "$tmp/out"

run tables describe --json updates
[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ] &&
	[ "$(jq -r '.TableName + " " + .GlobalSecondaryIndexes[0].IndexName' "$tmp/out")" = "${prefix_a}updates FeedIndex" ]
ok $? "describe --json prints the raw description"

run tables delete
[ $rc -ne 0 ] && one_line_error && grep -q -- "--yes" "$tmp/err"
rc_refused=$?
run tables describe
[ $rc_refused -eq 0 ] && [ $rc -eq 0 ]
ok $? "tables delete without --yes is refused and deletes nothing"

# --- seed ----------------------------------------------------------------
# The build tree's data/ is found beside the program; elsewhere name the file.
if [ -r "$(dirname "$PORTALCTL")/../data/seed-data.json" ]; then
	seed_args=()
else
	seed_args=(--file "$top_srcdir/data/seed-data.json")
fi
run seed "${seed_args[@]}"
[ $rc -eq 0 ] && grep -qx "seeded: 12 deliverables, 4 metrics, 3 updates, 3 users (0 skipped)" "$tmp/out"
ok $? "seed loads 12 deliverables, 4 metrics, 3 updates, 3 users" || diag "$tmp/err"

run seed --file "$top_srcdir/data/seed-data.json"
[ $rc -eq 0 ] && grep -qx "seeded: 0 deliverables, 0 metrics, 0 updates, 0 users (22 skipped)" "$tmp/out"
ok $? "seed again writes nothing"

run export
cp "$tmp/out" "$tmp/seeded.jsonl"
[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/seeded.jsonl")" -eq 22 ] &&
	[ "$(jq 'select(.table=="metrics" and .item.id.N=="4") |
		.item.current_value.N=="6.4" and .item.baseline_value.N=="12.5" and
		.item.higher_is_better.BOOL==false and .item.history.L[0].M.value.N=="6.4" and
		.item.version.N=="1"' "$tmp/seeded.jsonl")" = true ] &&
	[ "$(jq -r 'select(.table=="updates") | .item.id.S' "$tmp/seeded.jsonl" | sort -c && echo sorted)" = sorted ] &&
	[ "$(jq 'select(.table=="updates" and .item.title.S=="Symbol recognition at 60%") |
		.item.author.M.name.S=="Delivery Engineer" and .item.feed.S=="all" and
		(.item.id.S | test("^20260218T141000Z-[0-9a-f]{8}$")) and (.item | has("read_by") | not)' \
		"$tmp/seeded.jsonl")" = true ]
ok $? "seeded items: exact numbers, history, version, time-ordered update ids, embedded author"

# Change deliverable 4 (an import replaces it), reseed: the change stays.
jq -c 'select(.table=="deliverables" and .item.id.N=="4") |
	.item.name.S="Renamed by a person" | .item.version.N="2"' "$tmp/seeded.jsonl" >"$tmp/change.jsonl"
run import "$tmp/change.jsonl"
[ $rc -eq 0 ] && grep -qx "imported: 1 deliverables, 0 metrics, 0 updates, 0 users" "$tmp/out"
ok $? "import replaces one item" || diag "$tmp/err"

run seed --file "$top_srcdir/data/seed-data.json"
seed_out=$(cat "$tmp/out")
run export deliverables
[ "$seed_out" = "seeded: 0 deliverables, 0 metrics, 0 updates, 0 users (22 skipped)" ] &&
	[ "$(jq -r 'select(.item.id.N=="4") | .item.name.S' "$tmp/out")" = "Renamed by a person" ]
ok $? "seed does not overwrite a changed item"

run seed --force --file "$top_srcdir/data/seed-data.json"
seed_out=$(cat "$tmp/out")
run export deliverables
[ "$seed_out" = "seeded: 1 deliverables, 0 metrics, 0 updates, 0 users (21 skipped)" ] &&
	[ "$(jq -r 'select(.item.id.N=="4") | .item.name.S + " " + .item.version.N' "$tmp/out")" = "Baseline Accuracy Report 3" ]
ok $? "seed --force restores only the changed item and bumps its version" || echo "# $seed_out"

run seed --file "$DATA/bad-seed.json"
[ $rc -eq 1 ] && one_line_error && grep -q 'deliverables\[1\]: status: unknown value "DONE"' "$tmp/err"
ok $? "a bad seed file is one line naming the entry and field"

run seed --file "$tmp/does-not-exist.json"
[ $rc -eq 1 ] && one_line_error && grep -q "No such file" "$tmp/err"
ok $? "a missing seed file is one line"

# --- users ---------------------------------------------------------------
run users list
[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 4 ] &&
	grep -Eq '^auth0\|seed-client +client +estimator@client.example +Chief Estimator$' "$tmp/out"
ok $? "users list shows the users and roles"

run users set-role 'auth0|seed-client' team
rc_set=$rc
out_set=$(cat "$tmp/out")
run users list --json
[ $rc_set -eq 0 ] && [ "$out_set" = "auth0|seed-client: role team (was client)" ] &&
	[ "$(jq -r 'select(.id=="auth0|seed-client") | .role' "$tmp/out")" = team ]
ok $? "users set-role changes the role"

run users set-role 'auth0|nobody' admin
[ $rc -eq 1 ] && one_line_error && grep -q "no user with id 'auth0|nobody'" "$tmp/err"
ok $? "users set-role of an unknown user fails and creates nothing"

run users set-role 'auth0|seed-team' superuser
[ $rc -eq 2 ] && one_line_error && grep -q "unknown role 'superuser'" "$tmp/err"
ok $? "users set-role rejects an unknown role"

# --- export / import round trip ------------------------------------------
# A string set (read receipts) and exact decimals must survive.
jq -c 'select(.table=="updates" and (.item.id.S | startswith("20260130T170000Z"))) |
	.item.read_by={"SS":["auth0|seed-team","auth0|seed-client"]}' "$tmp/seeded.jsonl" >"$tmp/set.jsonl"
run import - <"$tmp/set.jsonl"
[ $rc -eq 0 ]
ok $? "import from stdin" || diag "$tmp/err"

run export
sort "$tmp/out" >"$tmp/export-a.jsonl"
[ $rc -eq 0 ] && grep -q '"read_by":{"SS":\["auth0|seed-client","auth0|seed-team"\]}' "$tmp/export-a.jsonl"
ok $? "export shows the string set as SS"

export PORTAL_TABLE_PREFIX=$prefix_b
run tables create
run import "$tmp/export-a.jsonl"
[ $rc -eq 0 ] && grep -qx "imported: 12 deliverables, 4 metrics, 3 updates, 3 users" "$tmp/out"
ok $? "import into a second set of tables" || diag "$tmp/err"

run export
sort "$tmp/out" >"$tmp/export-b.jsonl"
[ $rc -eq 0 ] && cmp -s "$tmp/export-a.jsonl" "$tmp/export-b.jsonl" &&
	grep -q '"current_value":{"N":"6.4"}' "$tmp/export-b.jsonl" &&
	grep -q '"baseline_value":{"N":"12.5"}' "$tmp/export-b.jsonl"
ok $? "export, import, export is an exact round trip (6.4, 12.5, string set)" ||
	diff "$tmp/export-a.jsonl" "$tmp/export-b.jsonl" | head -n 5 | sed 's/^/# /'

run import "$DATA/bad-import.jsonl"
rc_bad=$rc
cp "$tmp/err" "$tmp/bad.err"
run export deliverables
[ $rc_bad -eq 1 ] && grep -q "bad-import.jsonl:3: " "$tmp/bad.err" &&
	[ "$(wc -l <"$tmp/bad.err")" -eq 1 ] &&
	! grep -q '"id":{"N":"99"}' "$tmp/out"
ok $? "a bad line names its number and nothing is imported" || diag "$tmp/bad.err"

status=0
while IFS= read -r line; do
	printf '%s\n' "$line" >"$tmp/one.jsonl"
	run import "$tmp/one.jsonl"
	if [ $rc -ne 1 ] || ! one_line_error || ! grep -q "one.jsonl:1: " "$tmp/err"; then
		echo "# accepted or unclear: $line"
		status=1
	fi
done <<'EOF'
not json
{"table":"deliverables","item":{"id":{"N":"1"}}} trailing
["table","deliverables"]
{"table":"nosuch","item":{"id":{"N":"1"}}}
{"table":"deliverables","item":{"name":{"S":"no id"}}}
{"table":"deliverables","item":{"id":{"S":"1"}}}
{"table":"deliverables","item":{"id":{"N":"1"}},"extra":1}
{"table":"users"}
EOF
ok $status "malformed import lines are rejected with their line number"

printf '%s\n%s\n' '{"table":"users","item":{"id":{"S":"u1"}}}' \
	'{"table":"users","item":{"id":{"S":"u1"},"name":{"S":"again"}}}' >"$tmp/dup.jsonl"
run import "$tmp/dup.jsonl"
[ $rc -eq 1 ] && one_line_error && grep -q "dup.jsonl:2: users id u1 already on line 1" "$tmp/err"
ok $? "a duplicate key in one import is rejected"

run tables delete --yes
rc_del=$rc
out_del=$(cat "$tmp/out")
run tables describe
[ $rc_del -eq 0 ] && echo "$out_del" | grep -qx "tables: 5 deleted" && [ $rc -eq 1 ] &&
	grep -q "5 tables are missing" "$tmp/err"
ok $? "tables delete --yes deletes them"

run import "$tmp/set.jsonl"
[ $rc -eq 1 ] && one_line_error &&
	grep -q "table ${prefix_b}updates does not exist (run 'portalctl tables create')" "$tmp/err"
ok $? "import into missing tables says to create them"

# --- the store is down ---------------------------------------------------
down_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
started=$(date +%s)
AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$down_port" run tables describe
elapsed=$(($(date +%s) - started))
[ $rc -eq 1 ] && one_line_error &&
	grep -q "^portalctl: cannot reach DynamoDB at http://127.0.0.1:$down_port: NetworkError" "$tmp/err" &&
	[ $elapsed -le $END_TO_END_LIMIT_S ]
ok $? "endpoint down: one clear line, exit 1, within ${END_TO_END_LIMIT_S}s (took ${elapsed}s)" || diag "$tmp/err"

AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$down_port" run seed --file "$top_srcdir/data/seed-data.json"
[ $rc -eq 1 ] && one_line_error && grep -q "cannot reach DynamoDB" "$tmp/err"
ok $? "seed with the endpoint down: one clear line"

PORTAL_TABLE_PREFIX=$prefix_a LOG_LEVEL=loud run tables describe
[ $rc -eq 1 ] && one_line_error && grep -q "LOG_LEVEL" "$tmp/err"
ok $? "a bad setting is one line naming the variable"

tap_end
