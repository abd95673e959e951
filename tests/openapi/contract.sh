#!/bin/sh
# contract.sh - openapi.yaml against third-party tools and the live API
# (issue 10). Prints TAP:
#   - Redocly CLI lints openapi.yaml (tools/openapi/redocly.yaml: its
#     recommended rules); any error or warning fails;
#   - the validator (tests/openapi/validate.js: openapi-backend) judges the
#     records of tests/openapi/fixtures.jsonl as each says, so a wrong answer
#     is seen to fail (a missing header, a bad body, an alias answered 200...);
#   - every response the route tests recorded (tests/routes/helpers.bash
#     writes them to tests/openapi/records/*.jsonl) conforms to openapi.yaml.
# It runs after the route tests (tests/Makefile.inc orders it and makes its
# log depend on theirs). The tools are pinned in tools/openapi and installed
# by scripts/test (ensure_openapi_tools in scripts/lib/common.sh).
#
# Overrides: OPENAPI_SPEC, OPENAPI_TOOLS (the npm directory),
# OPENAPI_RECORDS (the directory of recorded exchanges).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
spec=${OPENAPI_SPEC:-$top_srcdir/openapi.yaml}
tools=${OPENAPI_TOOLS:-${NPM_TOOLS_DIR:-$top_srcdir/tools}/openapi}
records=${OPENAPI_RECORDS:-$top_builddir/tests/openapi/records}
here=$top_srcdir/tests/openapi

results=()	# "ok|not ok<TAB>description<TAB>diagnostics"
add() { results+=("$1"$'\t'"$2"$'\t'"${3:-}"); }

finish() {
	local i=0 r status desc diag
	echo "1..${#results[@]}"
	for r in "${results[@]}"; do
		i=$((i + 1))
		IFS=$'\t' read -r status desc diag <<<"$r"
		diag=${diag%$'\037'}
		echo "$status $i - $desc"
		[ -n "$diag" ] && printf '%s\n' "$diag" | tr '\037' '\n' | sed 's/^/# /'
	done
	for r in "${results[@]}"; do
		case $r in "not ok"*) exit 1 ;; esac
	done
	exit 0
}

if ! command -v node >/dev/null 2>&1 || [ ! -x "$tools/node_modules/.bin/redocly" ] ||
	[ ! -d "$tools/node_modules/openapi-backend" ]; then
	add "not ok" "the OpenAPI tools are installed (node; npm ci in tools/openapi)" \
		"run scripts/test, or: (cd tools/openapi && npm ci)"
	finish
fi
add ok "the OpenAPI tools are installed (node $(node --version))"

# 1. Redocly CLI: the document is valid OpenAPI and clean under its rules.
lint=$(cd "$tools" && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1 \
	node_modules/.bin/redocly lint --config redocly.yaml --format=stylish "$spec" 2>&1)
rc=$?
problems=$(printf '%s\n' "$lint" | grep -E '^[[:space:]]+[0-9]+:[0-9]+[[:space:]]+(error|warning)' | head -40)
if [ "$rc" -eq 0 ] && [ -z "$problems" ] && printf '%s\n' "$lint" | grep -q 'is valid'; then
	add ok "redocly lint: openapi.yaml is valid, no errors or warnings ($("$tools/node_modules/.bin/redocly" --version 2>/dev/null | head -1))"
else
	add "not ok" "redocly lint: openapi.yaml is valid, no errors or warnings" \
		"$(printf '%s\n' "${problems:-$(printf '%s\n' "$lint" | tail -15)}" | tr '\n' '\037')"
fi

# 2. The validator tells a wrong answer from a right one.
while IFS= read -r line; do
	case $line in
	"ok "*) add ok "${line#ok }" ;;
	"not ok "*) add "not ok" "${line#not ok }" ;;
	"# "*)
		# Diagnostics belong to the result above.
		last=$((${#results[@]} - 1))
		[ "$last" -ge 0 ] && results[last]="${results[last]}${line#\# }"$'\037'
		;;
	*) [ -n "$line" ] && add "not ok" "validator output: $line" ;;
	esac
done < <(node "$here/validate.js" --fixtures "$spec" "$tools" "$here/fixtures.jsonl" 2>&1)

# 3. The recorded answers of the route tests.
files=()
for f in "$records"/*.jsonl; do
	[ -s "$f" ] && files+=("$f")
done
if [ "${#files[@]}" -eq 0 ]; then
	add "not ok" "the route tests recorded their exchanges in $records" \
		"run the route tests first (make check runs them before this test)"
	finish
fi
add ok "the route tests recorded their exchanges (${#files[@]} files)"
while IFS= read -r line; do
	case $line in
	"ok "*) add ok "${line#ok }" ;;
	"not ok "*) add "not ok" "${line#not ok }" ;;
	"# "*)
		last=$((${#results[@]} - 1))
		[ "$last" -ge 0 ] && results[last]="${results[last]}${line#\# }"$'\037'
		;;
	*) [ -n "$line" ] && add "not ok" "validator output: $line" ;;
	esac
done < <(node "$here/validate.js" "$spec" "$tools" "${files[@]}" 2>&1)

finish
