# common.sh - shared by scripts/run, scripts/test, scripts/bench: install
# what a fresh Debian/Ubuntu machine lacks, build, and small helpers.
# Source it; it defines functions only (and ROOT, the project directory).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# nginx lives in /usr/sbin, which is not on every user's PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac
export PATH

# Debian packages the project needs to build, run and test.
PORTAL_APT_PACKAGES="build-essential autoconf automake libtool pkg-config
	libfcgi-dev libcurl4-openssl-dev libjson-c-dev libjwt-dev libssl-dev libcmocka-dev
	nginx-light curl jq bats openssl zip unzip python3 python3-yaml binutils ca-certificates procps wrk
	libpq-dev postgresql"

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
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
			die "apt-get install failed for:$missing"
	fi
}

# Installs dynalite (pinned in tools/dynalite/package-lock.json) into the tree.
ensure_dynalite() {
	if [ ! -d "$ROOT/tools/dynalite/node_modules/dynalite" ]; then
		say "installing dynalite (npm, into tools/dynalite)"
		(cd "$ROOT/tools/dynalite" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
			die "npm ci in tools/dynalite failed"
	fi
}

# Builds in the source tree (autoreconf + configure the first time).
build_project() {
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
