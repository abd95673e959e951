# shellcheck shell=bash
# tap.sh - sourced by the shell tests that print TAP (tests/integration,
# tests/migrate, tests/lambda): where the tree and the built programs are,
# one TAP line per check, diagnostics, and a private dynalite with nothing of
# the caller's AWS set-up leaking in.
#
#   . "$(dirname "$0")/../lib/tap.sh"
#   tap_require_built "$PORTALCTL"
#   ...
#   ok $? "what was checked" || diag "$tmp/err"
#   tap_end

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PORTALCTL=${PORTALCTL:-$top_builddir/portalctl/portalctl}
BOOTSTRAP=${BOOTSTRAP:-$top_builddir/lambda/bootstrap}
# shellcheck source=scripts/lib/dynalite.sh
. "$top_srcdir/scripts/lib/dynalite.sh"

n=0
failed=0

# ok STATUS DESCRIPTION: one TAP line; returns non-zero for a failure (for diagnostics).
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
		return 0
	fi
	echo "not ok $n - $2"
	failed=$((failed + 1))
	return 1
}

# skip DESCRIPTION WHY: one TAP line for a check that cannot run here.
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# diag FILE: the start of a file as TAP comments.
diag() {
	[ -f "$1" ] && sed 's/^/#   /' "$1" | head -n 40
}

# diag_tail FILE: the end of a file (a build's last words) as TAP comments.
diag_tail() {
	[ -f "$1" ] && sed 's/^/#   /' "$1" | tail -n 30
}

# tap_end: the plan, and the status of the whole test.
tap_end() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}

# tap_require_built PROGRAM...: skips the whole test unless each is built.
tap_require_built() {
	local p
	for p in "$@"; do
		[ -x "$p" ] || { echo "1..0 # SKIP $p is not built"; exit 0; }
	done
}

# tap_require_tools TOOL...: skips the whole test unless each is installed.
tap_require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || { echo "1..0 # SKIP $t is not installed"; exit 0; }
	done
}

# tap_scratch NAME: a new scratch directory $tmp; at exit it is removed, the
# background processes listed in the array pids are stopped, and so is the
# private dynalite.
tap_scratch() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
	pids=()
	trap tap_cleanup EXIT
}

# tap_cleanup: what tap_scratch promises at exit.
tap_cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	dynalite_stop 2>/dev/null
	rm -rf "$tmp"
}

# tap_isolate HOME [VARIABLE...]: nothing of the caller's AWS set-up (nor the
# variables named) leaks in, no instance metadata is asked, HOME is HOME.
tap_isolate() {
	local home=$1
	shift
	unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_CONTAINER_CREDENTIALS_FULL_URI \
		AWS_CONTAINER_CREDENTIALS_RELATIVE_URI PORTAL_ENV LOG_LEVEL "$@"
	export AWS_EC2_METADATA_DISABLED=true HOME=$home
}

# tap_dynalite_start DIR skip|fail: a private dynalite (its errors in
# DIR/dynalite.err); when it cannot start, the whole test is skipped or
# fails, and the script exits.
tap_dynalite_start() {
	dynalite_start 2>"$1/dynalite.err" && return 0
	if [ "$2" = skip ]; then
		echo "1..0 # SKIP dynalite cannot start: $(head -n 1 "$1/dynalite.err")"
		exit 0
	fi
	printf '1..1\nnot ok 1 - dynalite cannot start: %s\n' "$(head -n 1 "$1/dynalite.err")"
	diag "$1/dynalite.err"
	exit 1
}
