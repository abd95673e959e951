#!/bin/bash
# migrate.sh - 'portalctl migrate' (SPEC §9) from a real PostgreSQL into a
# private dynalite. Starts its own PostgreSQL cluster (initdb in a temporary
# directory, a free port; as the postgres user when run as root, since
# PostgreSQL refuses root), loads the §9 DDL and tests/data/migrate/legacy.sql,
# and checks the mapping against tests/data/migrate/expected.jsonl field by
# field, dry run, --strict, idempotence, kept edits and --force, a run killed
# halfway, --verify, and the one-line failures. Prints TAP.
#
# MIGRATE_REGENERATE=1 writes expected.jsonl from a clean run (review it!).
set -u
[ -n "${MIGRATE_TEST_KEEP:-}" ] && set -x

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
DATA=$top_srcdir/tests/data/migrate
KILL_AFTER_WRITES=4	# BatchWriteItem requests answered before the run is killed

. "$top_srcdir/scripts/lib/common.sh"
. "$top_srcdir/tests/migrate/pg.sh"

tap_require_built "$PORTALCTL"
if [ -z "$PG_BINDIR" ] || [ ! -x "$PG_BINDIR/initdb" ]; then
	printf '1..1\nnot ok 1 - PostgreSQL is not installed (Debian package postgresql; scripts/test installs it)\n'
	exit 1
fi
if "$PORTALCTL" migrate --from postgresql://x@127.0.0.1:1/x 2>&1 | grep -q 'libpq-dev'; then
	echo "1..0 # SKIP portalctl was built without libpq (Debian package libpq-dev)"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/migrate-test.XXXXXX")
proxy_pid=
cleanup() {
	[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null
	pg_stop
	dynalite_stop
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- PostgreSQL: the data set, and broken copies of its schema ---------------------
if ! pg_start "$tmp/pg" 2>"$tmp/pg.err"; then
	printf '1..1\nnot ok 1 - a private PostgreSQL cluster cannot start: %s\n' "$(head -n 1 "$tmp/pg.err")"
	exit 1
fi
export PGCONNECT_TIMEOUT=5
pg_psql postgres -c 'CREATE DATABASE legacy' &&
	pg_psql legacy -f "$DATA/schema.sql" >/dev/null &&
	pg_psql legacy -f "$DATA/legacy.sql" >/dev/null &&
	pg_psql postgres -c 'CREATE DATABASE no_owner TEMPLATE legacy' \
		-c 'CREATE DATABASE no_history TEMPLATE legacy' \
		-c 'CREATE DATABASE other_rev TEMPLATE legacy' &&
	pg_psql no_owner -c 'ALTER TABLE deliverables DROP COLUMN owner' &&
	pg_psql no_history -c 'DROP TABLE metric_history' &&
	pg_psql other_rev -c "UPDATE alembic_version SET version_num = '0123abcd4567'" \
	>"$tmp/load.log" 2>&1
load_rc=$?
URI=$(pg_uri legacy)
uri_of() { pg_uri "$1"; }

# --- dynalite ---------------------------------------------------------------------
tap_isolate "$tmp" PGPASSWORD
export DYNALITE_TABLE_MS=${DYNALITE_TABLE_MS:-50}
tap_dynalite_start "$tmp" fail
DIRECT_ENDPOINT=$AWS_ENDPOINT_URL_DYNAMODB
export PORTAL_TABLE_PREFIX="mig-$$-a-"

# run ARGS...: portalctl with stdout in $tmp/out, stderr in $tmp/err, status in $rc.
run() {
	"$PORTALCTL" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
# export_to FILE: every table as JSON lines.
export_to() {
	"$PORTALCTL" export >"$1" 2>"$tmp/export.err"
}
# fields FILE: one line per field: table, id, attribute, value.
fields() {
	jq -c '. as $l | $l.item | to_entries[] |
		[$l.table, ($l.item.id.N // $l.item.id.S), .key, .value]' "$1"
}
# one_line_error: stderr is one line "portalctl: migrate: ..."; exit status 1.
one_line_error() {
	[ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^portalctl: migrate: ' "$tmp/err"
}
# tables_empty: nothing was written.
tables_empty() {
	export_to "$tmp/now.jsonl" && [ ! -s "$tmp/now.jsonl" ]
}

echo "1..24"
[ "$load_rc" -eq 0 ]
ok $? "the legacy schema and data set load into PostgreSQL" || diag "$tmp/load.log"

run tables create
ok $rc "tables created in dynalite"

# --- bad input: one line, nothing written -------------------------------------
run migrate --from "postgresql://$PG_USER@127.0.0.1:$(free_port)/legacy"
one_line_error && grep -q 'cannot connect to PostgreSQL' "$tmp/err" && tables_empty
ok $? "an unreachable server is one line and writes nothing" || diag "$tmp/err"

run migrate --from "postgresql://$PG_USER:wrong@127.0.0.1:$PG_PORT/legacy"
one_line_error && grep -q 'password authentication failed' "$tmp/err" && tables_empty
ok $? "bad credentials are one line and write nothing" || diag "$tmp/err"

run migrate --from "$(uri_of no_owner)"
one_line_error && grep -q 'column deliverables.owner' "$tmp/err" && tables_empty
ok $? "a missing column is named in one line" || diag "$tmp/err"

run migrate --from "$(uri_of no_history)"
one_line_error && grep -q 'table metric_history' "$tmp/err" && tables_empty
ok $? "a missing table is named in one line" || diag "$tmp/err"

run migrate --from "$(uri_of other_rev)"
one_line_error && grep -q "alembic_version is '0123abcd4567'" "$tmp/err" && tables_empty
ok $? "an unknown alembic_version stops the run without --force" || diag "$tmp/err"

run migrate --from "$(uri_of other_rev)" --force --dry-run --json
[ "$rc" -eq 0 ] && grep -q '^portalctl: migrate: warning: alembic_version' "$tmp/err" &&
	jq -e '.deliverables.read == 7' "$tmp/out" >/dev/null && tables_empty
ok $? "with --force an unknown alembic_version is a warning" || diag "$tmp/err"

# --- dry run, strict ----------------------------------------------------------------
run migrate --from "$URI" --dry-run
[ "$rc" -eq 0 ] && grep -q '^dry run: nothing was written' "$tmp/out" &&
	grep -Eq '^deliverables +7 +4 +3 +0' "$tmp/out" && tables_empty
ok $? "--dry-run reads, maps, reports and writes nothing" || { diag "$tmp/out"; diag "$tmp/err"; }

run migrate --from "$URI" --strict
refusals="deliverables id 5: month: 0 is below 1
deliverables id 6: completion_percentage: 150 is outside 0..100
deliverables id 7: completion_percentage: -0.01 is outside 0..100
metrics id 4: current_value: 1234567890.123456789012345678901234567890: more than 38 significant digits
metrics id 5: history: value: 0.1234567890123456789012345678901234567891: more than 38 significant digits
updates id 5: type: 'gossip' is not one of progress, milestone, blocker, announcement, digest
users id 5: role: 'superuser' is not one of admin, team, client"
[ "$rc" -eq 1 ] && [ "$(grep '^refused: ' "$tmp/err" | sed 's/^refused: //')" = "$refusals" ] &&
	grep -q '^portalctl: migrate: --strict: 7 row(s) refused, nothing written' "$tmp/err" &&
	tables_empty
ok $? "--strict lists every refused row (table, legacy id, reason) and writes nothing" || diag "$tmp/err"

# --- the run and its items --------------------------------------------------------------
run migrate --from "$URI" --json
jq -e -c . "$tmp/out" >/dev/null 2>&1 && [ "$(wc -l <"$tmp/out")" -eq 1 ] &&
	[ "$(jq -c 'keys' "$tmp/out")" = '["deliverables","metrics","updates","users"]' ] &&
	[ "$(jq -c '[.[] | keys_unsorted]|unique' "$tmp/out")" = '[["read","written","skipped","unchanged"]]' ] &&
	[ "$(jq -c '[.deliverables,.metrics,.updates,.users|[.read,.written,.skipped,.unchanged]]' "$tmp/out")" = \
		'[[7,4,3,0],[6,4,2,0],[130,129,1,0],[45,44,1,0]]' ] && [ "$rc" -eq 0 ] &&
	[ "$(grep -c '^refused: ' "$tmp/err")" -eq 7 ]
ok $? "the run reports one JSON line per SPEC §9 with the counts" || { diag "$tmp/out"; diag "$tmp/err"; }

export_to "$tmp/first.jsonl"
if [ "${MIGRATE_REGENERATE:-0}" = 1 ]; then
	cp "$tmp/first.jsonl" "$DATA/expected.jsonl"
fi
fields "$tmp/first.jsonl" >"$tmp/got.fields" && fields "$DATA/expected.jsonl" >"$tmp/want.fields" &&
	diff "$tmp/want.fields" "$tmp/got.fields" >"$tmp/fields.diff"
ok $? "the exported items equal expected.jsonl field by field" || diag "$tmp/fields.diff"

run migrate --from "$URI" --json
export_to "$tmp/second.jsonl"
[ "$rc" -eq 0 ] &&
	[ "$(jq -c '[.deliverables,.metrics,.updates,.users|[.read,.written,.skipped,.unchanged]]' "$tmp/out")" = \
		'[[7,0,3,4],[6,0,2,4],[130,0,1,129],[45,0,1,44]]' ] &&
	cmp -s "$tmp/first.jsonl" "$tmp/second.jsonl"
ok $? "a second run changes nothing and reports every item unchanged" || diag "$tmp/out"

run migrate --from "$URI" --verify
[ "$rc" -eq 0 ] && grep -q '^verify: the tables equal the source' "$tmp/out"
ok $? "--verify passes after a clean run" || { diag "$tmp/out"; diag "$tmp/err"; }

# --- an item edited since: kept without --force ------------------------------------
# As the API's PATCH does: UpdateItem of a field and the version, the rest kept.
jq -c 'select(.table == "deliverables" and .item.id.N == "3") |
	.item.name.S = "Renamed in the portal" | .item.version.N = "2"' "$tmp/first.jsonl" >"$tmp/edit.jsonl"
run import "$tmp/edit.jsonl"
run migrate --from "$URI" --json
export_to "$tmp/edited.jsonl"
[ "$rc" -eq 0 ] && grep -q '^kept: deliverables 3: changed in DynamoDB since the last run' "$tmp/err" &&
	jq -e '.deliverables.skipped == 4 and .deliverables.written == 0' "$tmp/out" >/dev/null &&
	jq -s -e 'map(select(.table == "deliverables" and .item.id.N == "3"))[0] |
		.item.name.S == "Renamed in the portal"' "$tmp/edited.jsonl" >/dev/null
ok $? "an item edited since the last run is kept without --force" || { diag "$tmp/out"; diag "$tmp/err"; }

run migrate --from "$URI" --verify
[ "$rc" -eq 1 ] && grep -q '^verify: deliverables 3: differs from the source' "$tmp/err" &&
	grep -q '^verify: 1 difference(s)' "$tmp/out"
ok $? "--verify fails while a kept item differs from the source" || { diag "$tmp/out"; diag "$tmp/err"; }

run migrate --from "$URI" --force --json
export_to "$tmp/forced.jsonl"
[ "$rc" -eq 0 ] && grep -q '^overwritten: deliverables 3' "$tmp/err" &&
	jq -e '.deliverables.written == 1' "$tmp/out" >/dev/null &&
	cmp -s "$tmp/first.jsonl" "$tmp/forced.jsonl"
ok $? "--force overwrites it with the source" || { diag "$tmp/out"; diag "$tmp/err"; }

# --- corrupt one item: --verify fails ----------------------------------------------
jq -c 'select(.table == "metrics" and .item.id.N == "1") |
	.item.current_value.N = "98765432109876543210.654322"' "$tmp/first.jsonl" >"$tmp/corrupt.jsonl"
run import "$tmp/corrupt.jsonl"
run migrate --from "$URI" --dry-run --verify
[ "$rc" -eq 1 ] && grep -q '^verify: metrics 1: differs from the source' "$tmp/err" &&
	grep -Eq '^verify metrics +3 equal, 0 missing, 1 different' "$tmp/out"
ok $? "--verify fails after one item is corrupted, naming it" || { diag "$tmp/out"; diag "$tmp/err"; }

"$PORTALCTL" import <(jq -c '.item.extra = {"S": "not from the source"}' <(head -n 1 "$tmp/first.jsonl") |
	jq -c '.item.id.N = "99"') >/dev/null 2>&1
run migrate --from "$URI" --force --verify
[ "$rc" -eq 1 ] && grep -q '^verify: deliverables: 1 item(s) in the table are not from the source' "$tmp/err" &&
	grep -Eq '^verify metrics +4 equal, 0 missing, 0 different' "$tmp/out"
ok $? "--verify counts items that are not from the source" || { diag "$tmp/out"; diag "$tmp/err"; }

# --- killed halfway, then run again: the same tables as a clean run --------------------
export PORTAL_TABLE_PREFIX="mig-$$-b-"
run tables create
upstream_port=${DIRECT_ENDPOINT##*:}
python3 "$top_srcdir/tests/migrate/fault_proxy.py" "${upstream_port%%/*}" "$KILL_AFTER_WRITES" \
	"$tmp/victim.pid" "$tmp/proxy.port" 2>"$tmp/proxy.err" &
proxy_pid=$!
for _ in $(seq 100); do [ -s "$tmp/proxy.port" ] && break; sleep 0.1; done
(
	AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$(cat "$tmp/proxy.port")" \
		"$PORTALCTL" migrate --from "$URI" >"$tmp/out" 2>"$tmp/err" &
	echo $! >"$tmp/victim.pid"
	wait $!
) 2>/dev/null
killed_rc=$?
export_to "$tmp/partial.jsonl"
partial=$(wc -l <"$tmp/partial.jsonl")
[ "$killed_rc" -eq 137 ] && [ "$partial" -gt 0 ] && [ "$partial" -lt "$(wc -l <"$tmp/first.jsonl")" ]
ok $? "a run killed after $KILL_AFTER_WRITES write batches leaves part of the items ($partial)" ||
	echo "# exit $killed_rc, $partial items"
kill "$proxy_pid" 2>/dev/null
wait "$proxy_pid" 2>/dev/null
proxy_pid=

run migrate --from "$URI" --verify
export_to "$tmp/resumed.jsonl"
[ "$rc" -eq 0 ] && cmp -s "$tmp/first.jsonl" "$tmp/resumed.jsonl"
ok $? "run again, it ends identical to a clean run (and verifies)" || { diag "$tmp/out"; diag "$tmp/err"; }

# The API's id counter (a reserved item under id 0) is not a migrated item.
printf '%s\n' '{"table":"deliverables","item":{"id":{"N":"0"},"next_id":{"N":"12"}}}' \
	'{"table":"metrics","item":{"id":{"N":"0"},"next_id":{"N":"7"}}}' >"$tmp/counter.jsonl"
run import "$tmp/counter.jsonl"
run migrate --from "$URI" --dry-run --verify
[ "$rc" -eq 0 ] && grep -q '^verify: the tables equal the source' "$tmp/out"
ok $? "--verify leaves the API's id counter item out" || { diag "$tmp/out"; diag "$tmp/err"; }

# --- usage ------------------------------------------------------------------------
run migrate --dry-run
[ "$rc" -eq 2 ] && grep -q -- '--from' "$tmp/err"
ok $? "--from is required"

run --help
grep -q '^  migrate --from URI' "$tmp/out"
ok $? "portalctl --help lists migrate"

[ "$failed" -eq 0 ]
