#!/usr/bin/env bash
# migrate.sh - scripts/bench --migrate: 'portalctl migrate' against a large
# generated legacy database (tests/data/migrate/generate.sql: 1,000 users,
# 10,000 deliverables, 100 metrics x 1,000 history rows, 20,000 updates,
# 200,000 acknowledgements) in a private PostgreSQL cluster, into a private
# in-memory dynalite. Reports rows/s, items/s and peak RSS of the first run,
# the times of a second run (everything unchanged) and of --dry-run --verify,
# and the reference: the same items written back with BatchWriteItem directly
# (tests/migrate/batch_write_rate; one, then two requests in flight, as
# migrate's two writer threads), each on a fresh in-memory dynalite like the
# migration's. The machine is shared: figures vary by tens of percent from
# run to run, so compare figures of one run. Prints a table
# and writes var/bench/migrate-<time>.json.
#
#   scripts/bench --migrate [--no-build] [--out FILE]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
. "$here/lib/common.sh"

BUILD=1
OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--no-build) BUILD=0; shift ;;
	--out) OUT=${2:?--out needs a value}; shift 2 ;;
	--help | -h) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option: $1 (see --help)" ;;
	esac
done

ensure_packages
ensure_dynalite
[ "$BUILD" = 1 ] && build_project
PORTALCTL=$ROOT/portalctl/portalctl
REFERENCE=$ROOT/tests/migrate/batch_write_rate
[ -x "$PORTALCTL" ] && [ -x "$REFERENCE" ] || die "portalctl or tests/migrate/batch_write_rate is not built (run make)"

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/portal-bench-migrate.XXXXXX")
# shellcheck source=scripts/lib/dynalite.sh
. "$ROOT/scripts/lib/dynalite.sh"
# shellcheck source=tests/migrate/pg.sh
. "$ROOT/tests/migrate/pg.sh"
cleanup() {
	pg_stop || true
	dynalite_stop || true
	rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "bench --migrate: starting PostgreSQL and generating the legacy database"
pg_start "$BENCH_TMP/pg" || die "PostgreSQL did not start"
pg_psql postgres -c 'CREATE DATABASE legacy' >/dev/null
pg_psql legacy -f "$ROOT/tests/data/migrate/schema.sql" >/dev/null
gen_start=$(date +%s%N)
pg_psql legacy -f "$ROOT/tests/data/migrate/generate.sql" >/dev/null
gen_s=$(awk -v a="$gen_start" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
ROWS=$(pg_psql legacy -At -c "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM deliverables)
	+ (SELECT count(*) FROM metrics) + (SELECT count(*) FROM metric_history)
	+ (SELECT count(*) FROM updates) + (SELECT count(*) FROM update_acknowledgements)")
URI=$(pg_uri legacy)

unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL PORTAL_ENV LOG_LEVEL
export AWS_EC2_METADATA_DISABLED=true DYNALITE_TABLE_MS=50
dynalite_start >/dev/null || die "dynalite did not start"
export PORTAL_TABLE_PREFIX=bench-migrate-
"$PORTALCTL" tables create >/dev/null

# timed NAME ARGS...: runs portalctl with ARGS; sets ${NAME}_s (elapsed
# seconds) and ${NAME}_rss_kib (its peak RSS, from getrusage) and keeps its
# stdout in $BENCH_TMP/NAME.out.
timed() {
	local name=$1 measured
	shift
	measured=$(python3 -c '
import resource, subprocess, sys, time
start = time.monotonic()
with open(sys.argv[1] + ".out", "w") as out, open(sys.argv[1] + ".err", "w") as err:
    rc = subprocess.run(sys.argv[2:], stdout=out, stderr=err).returncode
elapsed = time.monotonic() - start
print("%.3f %d" % (elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)' "$BENCH_TMP/$name" "$PORTALCTL" "$@") ||
		{ cat "$BENCH_TMP/$name.err" >&2; die "portalctl $* failed"; }
	read -r "${name}_s" "${name}_rss_kib" <<<"$measured"
}

say "bench --migrate: first run ($ROWS legacy rows)"
timed first migrate --from "$URI" --json
ITEMS=$(jq '[.[] | .written] | add' "$BENCH_TMP/first.out")
say "bench --migrate: second run (all unchanged)"
timed second migrate --from "$URI" --json
say "bench --migrate: --dry-run --verify"
timed verify migrate --from "$URI" --dry-run --verify

"$PORTALCTL" export >"$BENCH_TMP/items.jsonl"
# reference N: the same items written back with N requests in flight, on a
# fresh dynalite as the migration had; prints the JSON of batch_write_rate.
reference() {
	dynalite_stop || true
	dynalite_start >/dev/null || die "dynalite did not start"
	PORTAL_TABLE_PREFIX=bench-reference- "$PORTALCTL" tables create >/dev/null
	PORTAL_TABLE_PREFIX=bench-reference- "$REFERENCE" --parallel "$1" "$BENCH_TMP/items.jsonl" ||
		die "batch_write_rate failed"
}
say "bench --migrate: reference: the same items with BatchWriteItem directly (1, then 2 in flight)"
# (Not in $(...): dynalite must be restarted in this shell, for the cleanup.)
reference 1 >"$BENCH_TMP/ref1.json"
reference 2 >"$BENCH_TMP/ref2.json"
REF=$(cat "$BENCH_TMP/ref1.json")
REF2=$(cat "$BENCH_TMP/ref2.json")

rate() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
rows_s=$(rate "$ROWS" "$first_s")
items_s=$(rate "$ITEMS" "$first_s")
ref_items_s=$(jq -r .items_per_s <<<"$REF")
ref2_items_s=$(jq -r .items_per_s <<<"$REF2")
ratio=$(awk -v a="$items_s" -v b="$ref_items_s" 'BEGIN { printf "%.3f", a / b }')
ratio2=$(awk -v a="$items_s" -v b="$ref2_items_s" 'BEGIN { printf "%.3f", a / b }')

printf '%-34s %12s\n' "legacy rows" "$ROWS"
printf '%-34s %12s\n' "items written" "$ITEMS"
printf '%-34s %12s\n' "first run: seconds" "$first_s"
printf '%-34s %12s\n' "first run: rows/s" "$rows_s"
printf '%-34s %12s\n' "first run: items/s" "$items_s"
printf '%-34s %12s\n' "first run: peak RSS (MiB)" "$(rate "$first_rss_kib" 1024)"
printf '%-34s %12s\n' "second run (unchanged): seconds" "$second_s"
printf '%-34s %12s\n' "second run: peak RSS (MiB)" "$(rate "$second_rss_kib" 1024)"
printf '%-34s %12s\n' "--dry-run --verify: seconds" "$verify_s"
printf '%-34s %12s\n' "reference, 1 in flight: items/s" "$ref_items_s"
printf '%-34s %12s\n' "reference, 2 in flight: items/s" "$ref2_items_s"
printf '%-34s %12s\n' "migrate / reference (1)" "$ratio"
printf '%-34s %12s\n' "migrate / reference (2)" "$ratio2"

mkdir -p "$ROOT/var/bench"
OUT=${OUT:-$ROOT/var/bench/migrate-$(date -u +%Y%m%dT%H%M%SZ).json}
jq -n --argjson rows "$ROWS" --argjson items "$ITEMS" --argjson first_s "$first_s" \
	--argjson rss "$first_rss_kib" --argjson second_s "$second_s" --argjson second_rss "$second_rss_kib" \
	--argjson verify_s "$verify_s" --argjson ref "$REF" --argjson ref2 "$REF2" --argjson gen_s "$gen_s" \
	--argjson report "$(cat "$BENCH_TMP/first.out")" '{
	legacy_rows: $rows, items: $items, generate_s: $gen_s,
	first: {seconds: $first_s, rows_per_s: ($rows / $first_s), items_per_s: ($items / $first_s),
		peak_rss_kib: $rss, report: $report},
	second: {seconds: $second_s, peak_rss_kib: $second_rss},
	verify: {seconds: $verify_s},
	reference: [$ref, $ref2],
	ratio: [(($items / $first_s) / $ref.items_per_s), (($items / $first_s) / $ref2.items_per_s)]}' >"$OUT"
say "bench --migrate: wrote $OUT"
