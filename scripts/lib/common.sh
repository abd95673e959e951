# common.sh - shared by scripts/run, scripts/test, scripts/bench: install
# what a fresh Debian/Ubuntu machine lacks, build, and small helpers.
# Source it; it defines functions only (and ROOT, the project directory).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# nginx lives in /usr/sbin, which is not on every user's PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac
export PATH

# Debian packages the project needs to build, run and test.
PORTAL_APT_PACKAGES="build-essential autoconf automake libtool pkg-config
	libfcgi-dev libcurl4-openssl-dev libjson-c-dev libssl-dev libcmocka-dev libjemalloc-dev
	nginx-light curl jq bats openssl zip unzip python3 python3-yaml python3-jsonschema binutils ca-certificates procps wrk chromium
	libpq-dev postgresql"

# The arm64 Lambda package is cross-compiled on an x86_64 host
# (scripts/package-lambda): Debian's cross compiler, the multiarch arm64
# libraries it links, and qemu to run the result (tests/lambda/package_arch.sh).
PORTAL_ARM64_PACKAGES="gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev:arm64
	libcurl4-openssl-dev:arm64 libjson-c-dev:arm64 libssl-dev:arm64 qemu-user-static"

# Of those, the ones whose absence only skips tests (the browser tests need
# chromium, which not every distribution packages).
PORTAL_APT_OPTIONAL="chromium"

say() { printf '%s\n' "$*" >&2; }
die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# Runs a command as root (sudo when we are not root).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run: $* (install sudo or run as root)"
	fi
}

# Installs the Debian packages that are missing (and node/npm when absent).
ensure_packages() {
	local missing="" p
	for p in $PORTAL_APT_PACKAGES "$@"; do
		# nginx-light satisfies nginx and vice versa.
		if [ "$p" = nginx-light ] && command -v nginx >/dev/null 2>&1; then
			continue
		fi
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	command -v node >/dev/null 2>&1 || missing="$missing nodejs"
	command -v npm >/dev/null 2>&1 || missing="$missing npm"
	if [ -n "$missing" ]; then
		say "installing:$missing"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
			die "apt-get update failed"
		# shellcheck disable=SC2086
		if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
			local required=""
			for p in $missing; do
				case " $PORTAL_APT_OPTIONAL " in *" $p "*) ;; *) required="$required $p" ;; esac
			done
			[ "$required" != "$missing" ] || die "apt-get install failed for:$missing"
			say "could not install$missing; retrying without $PORTAL_APT_OPTIONAL (the browser tests will be skipped)"
			# shellcheck disable=SC2086
			[ -z "$required" ] ||
				as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $required >/dev/null ||
				die "apt-get install failed for:$required"
		fi
	fi
}

# On an x86_64 Debian host, adds dpkg's arm64 architecture and installs the
# missing PORTAL_ARM64_PACKAGES. Where the archive serves no arm64 (Ubuntu
# keeps it on ports.ubuntu.com) the architecture is taken back, and the arm64
# package tests skip, naming what is missing.
ensure_arm64_cross() {
	local missing="" p added=0
	[ "$(uname -m)" = x86_64 ] && command -v dpkg >/dev/null 2>&1 || return 0
	for p in $PORTAL_ARM64_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	say "installing the arm64 cross build:$missing"
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		as_root dpkg --add-architecture arm64 || { say "dpkg --add-architecture arm64 failed"; return 0; }
		added=1
	fi
	# shellcheck disable=SC2086
	if as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
		return 0
	fi
	say "could not install the arm64 cross build; the arm64 package tests will be skipped"
	if [ "$added" -eq 1 ]; then
		as_root dpkg --remove-architecture arm64 &&
			as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	fi
	return 0
}

# Installs dynalite (pinned in tools/dynalite/package-lock.json) into the tree.
ensure_dynalite() {
	if [ ! -d "$ROOT/tools/dynalite/node_modules/dynalite" ]; then
		say "installing dynalite (npm, into tools/dynalite)"
		(cd "$ROOT/tools/dynalite" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
			die "npm ci in tools/dynalite failed"
	fi
}

# Installs the OpenAPI contract tools (Redocly CLI, openapi-backend; pinned
# in tools/openapi/package-lock.json) into the tree, again when the lock
# file changes.
ensure_openapi_tools() {
	local dir=$ROOT/tools/openapi
	if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
		[ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		say "installing the OpenAPI tools (npm, into tools/openapi)"
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
			die "npm ci in tools/openapi failed"
	fi
}

# Installs the pinned npm tools of the API docs: Swagger UI (tools/swagger-ui,
# embedded by the build) and playwright-core (tools/browser, drives the
# system chromium in tests/browser). No install scripts run, no browser is
# downloaded.
ensure_docs_tools() {
	local tool
	for tool in swagger-ui:swagger-ui-dist browser:playwright-core; do
		[ -d "$ROOT/tools/${tool%%:*}/node_modules/${tool#*:}" ] && continue
		say "installing ${tool#*:} (npm, into tools/${tool%%:*})"
		(cd "$ROOT/tools/${tool%%:*}" &&
			PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 SCARF_ANALYTICS=false \
			npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
			die "npm ci in tools/${tool%%:*} failed"
	done
}

# Builds in the source tree (autoreconf + configure the first time).
build_project() {
	ensure_docs_tools
	(
		cd "$ROOT" || exit 1
		if [ ! -x configure ] || [ configure.ac -nt configure ]; then
			autoreconf -fi >/dev/null 2>&1 || autoreconf -fi || exit 1
		fi
		if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
			./configure -q ${PORTAL_CONFIGURE_FLAGS:-} || exit 1
		fi
		make -s -j"$(nproc)" >/dev/null 2>&1 || make -j"$(nproc)" || exit 1
	) || die "build failed"
}

# A free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
