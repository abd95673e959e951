#!/bin/sh
# roles.sh - runs tests/integration/roles_test (TAP) against a private dynalite.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
program="$top_builddir/tests/integration/roles_test"

# shellcheck source=scripts/lib/dynalite.sh
. "$top_srcdir/scripts/lib/dynalite.sh"
devtmp=$(mktemp -d "${TMPDIR:-/tmp}/roles-devissuer.XXXXXX") || exit 1
trap 'dynalite_stop; rm -rf "$devtmp"' EXIT

export DYNALITE_TABLE_MS="${DYNALITE_TABLE_MS:-0}"
# shellcheck disable=SC2119 # in memory: no data directory
if ! dynalite_start; then
	echo "1..1"
	echo "not ok 1 - dynalite did not start"
	exit 1
fi

export AWS_ACCESS_KEY_ID=roles-test AWS_SECRET_ACCESS_KEY=roles-test AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE PORTAL_ENV PORTAL_DEV_ISSUER_DIR
# The development issuer, from a private copy of the scripts (so the
# project's own var/dev-issuer is left alone): roles_test verifies its token.
mkdir -p "$devtmp/scripts/lib"
cp "$top_srcdir/scripts/dev-token" "$devtmp/scripts/"
cp "$top_srcdir/scripts/lib/devkeys.sh" "$devtmp/scripts/lib/"
# shellcheck source=scripts/lib/devkeys.sh
. "$devtmp/scripts/lib/devkeys.sh"
DEV_TOKEN=$(env -u AUTH_ISSUER -u AUTH0_AUDIENCE "$devtmp/scripts/dev-token" --role team) || DEV_TOKEN=
export DEV_TOKEN DEV_ISSUER DEV_AUDIENCE DEV_JWKS_FILE

export CMOCKA_MESSAGE_OUTPUT=TAP
export LOG_LEVEL="${LOG_LEVEL:-warn}"
"$program"
