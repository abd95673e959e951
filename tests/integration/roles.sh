#!/bin/sh
# roles.sh - runs tests/integration/roles_test (TAP) against a private dynalite.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
program="$top_builddir/tests/integration/roles_test"

# shellcheck source=../lib/dynalite.sh
. "$top_srcdir/tests/lib/dynalite.sh"
trap 'dynalite_stop' EXIT

export DYNALITE_TABLE_MS=${DYNALITE_TABLE_MS:-0}
if ! dynalite_start; then
	echo "1..1"
	echo "not ok 1 - dynalite did not start"
	exit 1
fi

export AWS_ACCESS_KEY_ID=roles-test AWS_SECRET_ACCESS_KEY=roles-test AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE PORTAL_ENV
export CMOCKA_MESSAGE_OUTPUT=TAP
export LOG_LEVEL=${LOG_LEVEL:-warn}
"$program"
