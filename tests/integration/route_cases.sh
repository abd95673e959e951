#!/bin/sh
# route_cases.sh - runs tests/integration/route_cases (TAP) on the route
# cases of tests/cases/routes.cases (or the file given) against a private
# dynalite, with the development issuer's key for its tokens.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
program="$top_builddir/tests/integration/route_cases"
cases=${1:-$top_srcdir/tests/cases/routes.cases}

# shellcheck source=scripts/lib/dynalite.sh
. "$top_srcdir/scripts/lib/dynalite.sh"
# shellcheck source=scripts/lib/devkeys.sh
. "$top_srcdir/scripts/lib/devkeys.sh"
trap dynalite_stop EXIT

# Nothing from the caller's set-up may leak in: each section says what it sets.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_CONTAINER_CREDENTIALS_FULL_URI \
	AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AUTH0_DOMAIN PORTAL_ADMINS \
	DIGEST_API_URL DIGEST_API_KEY DIGEST_MODEL
export AWS_EC2_METADATA_DISABLED=true DYNALITE_TABLE_MS=0
# shellcheck disable=SC2119 # in memory: no data directory
if ! dynalite_start; then
	echo "1..1"
	echo "not ok 1 - dynalite did not start"
	exit 1
fi
if ! devkeys_ensure "$DEV_ISSUER_DIR"; then
	echo "1..1"
	echo "not ok 1 - the development key in $DEV_ISSUER_DIR"
	exit 1
fi
export DEV_ISSUER_DIR SEED_FILE="$top_srcdir/data/seed-data.json"
export AUTH_JWKS_URL="file://$DEV_JWKS_FILE" AUTH_ISSUER="$DEV_ISSUER" AUTH0_AUDIENCE="$DEV_AUDIENCE"
export PORTAL_ENV=dev CORS_ALLOW_ORIGINS=http://localhost:3000 LOG_LEVEL="${LOG_LEVEL:-error}"
"$program" "$cases"
