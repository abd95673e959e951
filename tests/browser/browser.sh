#!/usr/bin/env bash
# browser.sh - the browser tests (issue 15): Debian's chromium, driven by
# playwright-core (tools/browser, pinned; it never downloads a browser),
# against a private stack (dynalite, workers, nginx) and a tiny static server
# on two other ports (one origin in CORS_ALLOW_ORIGINS, one not). Runs every
# tests/browser/*.test.js through run.js; prints TAP.
#
# Skipped (TAP "1..0 # SKIP", never counted as passed) only when chromium is
# not installed; a missing playwright-core is a failure (scripts/test installs it).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=scripts/lib/common.sh
. "$top_srcdir/scripts/lib/common.sh"
# shellcheck source=scripts/lib/stack.sh
. "$ROOT/scripts/lib/stack.sh"

CHROMIUM=${CHROMIUM:-$(command -v chromium 2>/dev/null || true)}
if [ -z "$CHROMIUM" ] || [ ! -x "$CHROMIUM" ]; then
	echo "1..0 # SKIP chromium is not installed (Debian package chromium): the browser tests did not run"
	exit 0
fi
BROWSER_TOOLS=${NPM_TOOLS_DIR:-$ROOT/tools}/browser
if [ ! -f "$BROWSER_TOOLS/node_modules/playwright-core/package.json" ]; then
	echo "1..1"
	echo "not ok 1 - playwright-core is installed (cd tools/browser && npm ci --ignore-scripts)"
	exit 1
fi

STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/browser-stack.XXXXXX") || exit 1
PORT=$(free_port)
ALLOWED_PORT=$(free_port)
BLOCKED_PORT=$(free_port)
STACK_PROCESSES=${STACK_PROCESSES:-1}
STACK_THREADS=${STACK_THREADS:-8}
CORS_ALLOW_ORIGINS="http://localhost:$ALLOWED_PORT"
export STACK_DIR PORT STACK_PROCESSES STACK_THREADS CORS_ALLOW_ORIGINS

cleanup() {
	stack_stop
	rm -rf "$STACK_DIR"
}
trap cleanup EXIT

if ! stack_start >"$STACK_DIR/stack.out" 2>&1; then
	echo "1..1"
	echo "not ok 1 - the stack starts for the browser tests"
	sed 's/^/# /' "$STACK_DIR/stack.out"
	tail -n 20 "$STACK_DIR"/logs/*.log 2>/dev/null | sed 's/^/# /'
	exit 1
fi

TEAM_TOKEN=$("$ROOT/scripts/dev-token" --role team) || { echo "1..1"; echo "not ok 1 - dev-token"; exit 1; }
export TEAM_TOKEN STACK_URL ALLOWED_PORT BLOCKED_PORT CHROMIUM
export BROWSER_NGINX_LOG=$STACK_DIR/logs/nginx-access.log
export BROWSER_WORKER_LOG=$STACK_DIR/logs/portal.log
export BROWSER_SCREENSHOTS=${BROWSER_SCREENSHOTS:-${top_builddir:-$ROOT}/var/screenshots}
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export NODE_PATH=$BROWSER_TOOLS/node_modules
node "$ROOT/tests/browser/run.js"
