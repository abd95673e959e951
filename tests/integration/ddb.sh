#!/bin/bash
# ddb.sh - runs tests/integration/ddb_test (TAP) against a private dynalite
# and the stand-in tests/data/ddb/standin.js, both on free 127.0.0.1 ports,
# and stops both on exit.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir
. "$top_srcdir/scripts/lib/dynalite.sh"

STANDIN_START_TIMEOUT_S=30
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ddb-test.XXXXXX") || exit 1
standin_pid=

# Stops what this script started and removes its scratch directory.
cleanup() {
	if [ -n "$standin_pid" ]; then
		kill "$standin_pid" 2>/dev/null
		wait "$standin_pid" 2>/dev/null
	fi
	dynalite_stop
	rm -rf "$tmp"
}
trap cleanup EXIT

# Prints a TAP plan with one failure and exits.
bail() {
	echo "1..1"
	echo "not ok 1 - $1"
	exit 1
}

export DYNALITE_TABLE_MS=${DYNALITE_TABLE_MS:-100}
export DYNALITE_LOG="$tmp/dynalite.log"
# Dummy credentials that the stand-in also checks signatures with.
export AWS_ACCESS_KEY_ID=AKIDDDBTEST
export AWS_SECRET_ACCESS_KEY=ddb-test-secret
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export PORTAL_ENV=ddbtest
export PORTAL_TABLE_PREFIX="ddbtest-$$-"

[ -x "$top_builddir/tests/integration/ddb_test" ] ||
	bail "tests/integration/ddb_test is built (run make check)"
dynalite_start || bail "dynalite starts (see $DYNALITE_LOG)"

STANDIN_PORTFILE="$tmp/standin.port" node "$top_srcdir/tests/data/ddb/standin.js" \
	>"$tmp/standin.log" 2>&1 &
standin_pid=$!
for ((i = 0; i < STANDIN_START_TIMEOUT_S * 10; i++)); do
	[ -s "$tmp/standin.port" ] && break
	kill -0 "$standin_pid" 2>/dev/null || break
	sleep 0.1
done
[ -s "$tmp/standin.port" ] || bail "the DynamoDB stand-in starts: $(cat "$tmp/standin.log")"
export DDB_STANDIN_URL="http://127.0.0.1:$(cat "$tmp/standin.port")"

"$top_builddir/tests/integration/ddb_test"
rc=$?
if [ $rc -ne 0 ]; then
	echo "# dynalite log:"; sed 's/^/#   /' "$DYNALITE_LOG" | tail -n 20
	echo "# stand-in log:"; sed 's/^/#   /' "$tmp/standin.log" | tail -n 20
fi
exit $rc
