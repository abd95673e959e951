#!/bin/bash
# tests/lambda/package_arch.sh - scripts/package-lambda --arch: the package
# records its architecture; on an x86_64 host an arm64 package is
# cross-compiled (gcc-aarch64-linux-gnu and the Debian multiarch arm64
# libraries) and, when qemu-user-static is installed, its bootstrap serves an
# HTTP event and a scheduled event under emulation against the Runtime API
# stand-in and a private dynalite. Prints TAP.
set -u

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
PACKAGE=$top_srcdir/scripts/package-lambda
EVENTS=$top_srcdir/tests/data/lambda
STANDIN=$top_srcdir/tests/lambda/runtime_api.py
TRIPLET=aarch64-linux-gnu
INSTALL_HINT="dpkg --add-architecture arm64 && apt-get update && apt-get install gcc-aarch64-linux-gnu libc6-dev:arm64 libcurl4-openssl-dev:arm64 libjson-c-dev:arm64 libssl-dev:arm64 (scripts/test installs them)"

tap_require_tools jq unzip zip python3
tap_require_built "$BOOTSTRAP" "$PORTALCTL"
case "$(uname -m)" in
x86_64) ;;
*) echo "1..0 # SKIP this test cross-compiles arm64 on an x86_64 host"; exit 0 ;;
esac

tap_scratch package-arch

# --- the native package records its architecture ----------------------------
allow=()
grep -Eq '^SAN_CFLAGS = .*-fsanitize' "$top_builddir/Makefile" 2>/dev/null && allow=(--allow-glibc)
"$PACKAGE" --arch x86_64 --binary "$BOOTSTRAP" --out "$tmp/x86_64.zip" "${allow[@]}" >"$tmp/x86.out" 2>&1
[ $? -eq 0 ] && [ "$(unzip -z "$tmp/x86_64.zip" | tail -n 1)" = "arch=x86_64" ]
ok $? "an x86_64 package records arch=x86_64 (zip comment)" || diag_tail "$tmp/x86.out"

"$PACKAGE" --arch arm64 --binary "$BOOTSTRAP" --out "$tmp/wrong.zip" >"$tmp/wrong.out" 2>&1
rc=$?
[ $rc -ne 0 ] && [ ! -e "$tmp/wrong.zip" ] && grep -Eq "built for x86_64, not arm64|${TRIPLET}-gcc is missing" "$tmp/wrong.out"
ok $? "an x86_64 binary is not packaged as arm64" || diag_tail "$tmp/wrong.out"

# --- arm64, cross-compiled ----------------------------------------------------
if ! command -v "$TRIPLET-gcc" >/dev/null 2>&1 ||
	! PKG_CONFIG_LIBDIR=/usr/lib/$TRIPLET/pkgconfig pkg-config --exists libcurl json-c libcrypto; then
	skip "scripts/package-lambda --arch arm64 cross-compiles" "no arm64 cross toolchain/libraries: $INSTALL_HINT"
	tap_end
	exit
fi
started=$(date +%s)
# No --arch: arm64, the template's default.
"$PACKAGE" --build-dir "$tmp/build" --out "$tmp/arm64.zip" >"$tmp/arm64.out" 2>"$tmp/arm64.err"
rc=$?
[ $rc -eq 0 ] && [ -s "$tmp/arm64.zip" ] && grep -q 'cross-compiling lambda/bootstrap for arm64' "$tmp/arm64.err"
ok $? "package-lambda (arm64 by default) cross-compiles and packages ($(($(date +%s) - started)) s)" || diag_tail "$tmp/arm64.err"
echo "# $(tail -n 1 "$tmp/arm64.out")"

task=$tmp/task
mkdir "$task"
unzip -q "$tmp/arm64.zip" -d "$task"
[ "$(unzip -z "$tmp/arm64.zip" | tail -n 1)" = "arch=arm64" ] &&
	[ "$(find "$task" -maxdepth 1 | wc -l)" -eq 3 ] &&
	LC_ALL=C "$TRIPLET-readelf" -h "$task/bootstrap" | grep -q 'Machine: *AArch64'
ok $? "the zip records arch=arm64 and holds an AArch64 bootstrap and lib/ only"

bad=""
for f in "$task"/lib/*; do
	LC_ALL=C "$TRIPLET-readelf" -h "$f" 2>/dev/null | grep -q 'Machine: *AArch64' || bad="$bad ${f##*/}"
done
# Every library a packaged file needs is packaged, or is glibc's own.
needed=$(for f in "$task/bootstrap" "$task"/lib/*; do
	LC_ALL=C "$TRIPLET-readelf" -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
done | sort -u)
for lib in $needed; do
	case "$lib" in
	libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|ld-linux-*) ;;
	*) [ -e "$task/lib/$lib" ] || bad="$bad missing:$lib" ;;
	esac
done
[ -z "$bad" ] && [ "$(ls "$task/lib" | wc -l)" -ge 3 ]
ok $? "every packaged library is AArch64 and every needed library is packaged (but glibc's)" || echo "# $bad"

# --- the arm64 bootstrap under emulation ---------------------------------------
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
if [ -z "$qemu" ]; then
	skip "the arm64 bootstrap serves events under qemu" "qemu-user-static is not installed"
	tap_end
	exit
fi
tap_isolate "$tmp"
export DYNALITE_TABLE_MS=0
if ! dynalite_start 2>"$tmp/dynalite.err"; then
	ok 1 "dynalite starts" || diag_tail "$tmp/dynalite.err"
	echo "1..$n"
	exit 1
fi
export PORTAL_TABLE_PREFIX="arm64-$$-"
"$PORTALCTL" tables create >"$tmp/pctl.out" 2>&1 &&
	"$PORTALCTL" seed --file "$top_srcdir/data/seed-data.json" >>"$tmp/pctl.out" 2>&1 ||
	{ ok 1 "tables and seed" || diag_tail "$tmp/pctl.out"; }
python3 "$STANDIN" --out "$tmp/run" --port-file "$tmp/run.port" \
	"$EVENTS/v2_get_health.json" "$EVENTS/scheduled_digest.json" 2>"$tmp/standin.err" &
pids+=($!)
for ((i = 0; i < 100; i++)); do [ -s "$tmp/run.port" ] && break; sleep 0.1; done
# The guest loader and glibc come from the host's multiarch libc6:arm64
# (/lib/ld-linux-aarch64.so.1); every other library from the package's lib/ (rpath $ORIGIN/lib).
env -i PATH=/usr/bin:/bin TZ=:UTC AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=ASIAARM64TEST \
	AWS_SECRET_ACCESS_KEY=arm64-test-secret AWS_EC2_METADATA_DISABLED=true \
	AWS_LAMBDA_FUNCTION_NAME=turbotech-portal-arm64 AWS_LAMBDA_LOG_FORMAT=JSON \
	PORTAL_TABLE_PREFIX="$PORTAL_TABLE_PREFIX" AWS_ENDPOINT_URL_DYNAMODB="$AWS_ENDPOINT_URL_DYNAMODB" \
	AUTH_JWKS_URL="file://$top_srcdir/tests/data/lambda/none.json" AUTH_ISSUER=https://issuer.invalid/ \
	AUTH0_AUDIENCE=https://api.turbotech.example AWS_LAMBDA_RUNTIME_API="127.0.0.1:$(cat "$tmp/run.port")" \
	timeout 120 "$qemu" "$task/bootstrap" --max-invocations 2 >"$tmp/qemu.out" 2>"$tmp/qemu.err"
rc=$?
[ $rc -eq 0 ] &&
	jq -e '.statusCode == 200 and (.body | fromjson | .status == "ok" and .dynamodb == "ok")' \
		"$tmp/run/01-v2_get_health.response" >/dev/null &&
	jq -e '.published == true and .update.type == "digest" and .update.author.id == "portal|digest"' \
		"$tmp/run/02-scheduled_digest.response" >/dev/null
ok $? "the arm64 bootstrap (qemu) answers GET /api/health (store ok) and posts the scheduled digest" ||
	{ diag_tail "$tmp/qemu.err"; cat "$tmp/run/"*.response 2>/dev/null | cut -c1-300 | sed 's/^/#   /'; }

tap_end
