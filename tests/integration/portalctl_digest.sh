#!/bin/bash
# portalctl_digest.sh - `portalctl digest publish` (SPEC §10) against a private
# dynalite: posts the digest as the system author, once per days and UTC hour,
# --json, --days, usage errors, and a clear failure when the store is down.
# Prints TAP.
set -u

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
tap_require_built "$PORTALCTL"

tap_scratch portalctl-digest

tap_isolate "$tmp" DIGEST_API_URL DIGEST_API_KEY DIGEST_MODEL
export DYNALITE_TABLE_MS=${DYNALITE_TABLE_MS:-0}
tap_dynalite_start "$tmp" skip
export PORTAL_TABLE_PREFIX="pdigest-$$-"

"$PORTALCTL" tables create >"$tmp/setup.out" 2>&1 &&
	"$PORTALCTL" seed --file "$top_srcdir/data/seed-data.json" >>"$tmp/setup.out" 2>&1
ok $? "tables created and seeded" || diag "$tmp/setup.out"

# digest_items: the digest updates in the table, as JSON lines {id, author}.
digest_items() {
	"$PORTALCTL" export updates | jq -c 'select(.item.type.S == "digest") |
		{id: .item.id.S, author: .item.author.M.id.S, name: .item.author.M.name.S}'
}

# Both publishes in one UTC hour: wait out the last seconds of an hour.
ms=$(date -u +%M%S)
[ "$ms" -lt 5945 ] || sleep $((3600 - 10#${ms:0:2} * 60 - 10#${ms:2:2} + 1))
hour=$(date -u +%Y%m%dT%H)

"$PORTALCTL" digest publish >"$tmp/first.out" 2>"$tmp/first.err"
rc=$?
[ $rc -eq 0 ] && grep -Eq "^posted digest ${hour}0000Z-digest07: Digest of the last 7 days" "$tmp/first.out" &&
	[ ! -s "$tmp/first.err" ]
ok $? "digest publish: exit 0, posted under the hour's id" || { diag "$tmp/first.out"; diag "$tmp/first.err"; }

"$PORTALCTL" digest publish --json >"$tmp/second.out" 2>"$tmp/second.err"
rc=$?
[ $rc -eq 0 ] && jq -e --arg id "${hour}0000Z-digest07" '.published == false and .update.id == $id
	and .update.type == "digest" and .update.author.id == "portal|digest"' "$tmp/second.out" >/dev/null
ok $? "a second publish in the same hour: exit 0, --json says not published, the same update" ||
	{ diag "$tmp/second.out"; diag "$tmp/second.err"; }

digest_items >"$tmp/items"
[ "$(wc -l <"$tmp/items")" -eq 1 ] &&
	jq -e '.author == "portal|digest" and .name == "Portal digest"' "$tmp/items" >/dev/null
ok $? "the table holds one digest, by portal|digest (Portal digest)" || diag "$tmp/items"

"$PORTALCTL" digest publish --days 30 --json >"$tmp/thirty.out" 2>&1 &&
	jq -e '.published == true and (.update.id | endswith("-digest30")) and (.update.title | test("last 30 days"))' \
		"$tmp/thirty.out" >/dev/null && [ "$(digest_items | wc -l)" -eq 2 ]
ok $? "--days 30: another period, another digest" || diag "$tmp/thirty.out"

all=0
for bad in "--days 0" "--days 91" "--days x" "--days" "--days=" "--frobnicate" "publish-now"; do
	# shellcheck disable=SC2086
	if [ "$bad" = publish-now ]; then
		"$PORTALCTL" digest $bad >"$tmp/bad.out" 2>"$tmp/bad.err"
	else
		"$PORTALCTL" digest publish $bad >"$tmp/bad.out" 2>"$tmp/bad.err"
	fi
	rc=$?
	if [ $rc -ne 2 ] || [ "$(wc -l <"$tmp/bad.err")" -ne 1 ] || [ -s "$tmp/bad.out" ]; then
		echo "# $bad: status $rc: $(cat "$tmp/bad.err")"
		all=1
	fi
done
[ "$(digest_items | wc -l)" -eq 2 ] || all=1
ok $all "usage errors: exit 2 and one line, nothing posted"

"$PORTALCTL" --help | grep -q 'digest publish \[--days N\]'
ok $? "portalctl --help lists digest publish"

dynalite_stop
started=$(date +%s)
"$PORTALCTL" digest publish --days 2 >"$tmp/down.out" 2>"$tmp/down.err"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$tmp/down.err")" -eq 1 ] && grep -q 'digest publish' "$tmp/down.err" &&
	[ $(($(date +%s) - started)) -le 30 ]
ok $? "store down: exit 1 with one line, within 30 s" || diag "$tmp/down.err"

tap_end
