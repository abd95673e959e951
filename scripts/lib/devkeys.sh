# shellcheck shell=bash disable=SC2034
# devkeys.sh - the local development issuer: an RSA key pair and its JWKS
# under var/dev-issuer/, used by scripts/run and scripts/dev-token exactly as
# Auth0's keys are used in production (there is no auth bypass).
#
# Source it, then:
#   devkeys_ensure DIR   # creates DIR/dev-key.pem, DIR/kid, DIR/jwks.json once
#
# Defaults others can use (scripts/run sets AUTH_JWKS_URL=file://$DEV_JWKS_FILE,
# AUTH_ISSUER=$DEV_ISSUER, AUTH0_AUDIENCE=$DEV_AUDIENCE):
#   DEV_ISSUER      the issuer of development tokens
#   DEV_AUDIENCE    the audience of development tokens
#   DEV_ISSUER_DIR  PORTAL_DEV_ISSUER_DIR, default <project>/var/dev-issuer
#   DEV_JWKS_FILE   $DEV_ISSUER_DIR/jwks.json
# Needs openssl and coreutils (basenc); flock (util-linux) when present.

DEV_ISSUER="https://turbotech-portal.local/"
DEV_AUDIENCE="https://api.turbotech-portal.local"
DEV_KEY_BITS=2048
_devkeys_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/../.." && pwd)
DEV_ISSUER_DIR="${PORTAL_DEV_ISSUER_DIR:-$_devkeys_root/var/dev-issuer}"
DEV_JWKS_FILE="$DEV_ISSUER_DIR/jwks.json"

# Upper-case hex on stdin -> unpadded base64url on stdout.
_devkeys_hex_to_b64url() {
	tr -d ' \n:' | tr 'a-f' 'A-F' | basenc --base16 -d | basenc --base64url -w0 | tr -d '='
}

# Creates the key, kid and JWKS in $1 unless they exist; prints nothing on success.
devkeys_ensure() {
	local dir=${1:?devkeys_ensure: directory required}
	local tmp modulus exponent_hex kid n e rc

	if [ -s "$dir/dev-key.pem" ] && [ -s "$dir/kid" ] && [ -s "$dir/jwks.json" ]; then
		return 0
	fi
	mkdir -p "$dir" || return 1
	chmod 700 "$dir" 2>/dev/null
	# One creator at a time (two first runs at once would mismatch key and JWKS).
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$dir/.lock" || return 1
		flock 9 || return 1
		if [ -s "$dir/dev-key.pem" ] && [ -s "$dir/kid" ] && [ -s "$dir/jwks.json" ]; then
			exec 9>&-
			return 0
		fi
	fi
	tmp=$(mktemp -d "$dir/.new.XXXXXX") || return 1
	rc=1
	if (umask 077 && openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$DEV_KEY_BITS" \
	    -out "$tmp/dev-key.pem" 2>"$tmp/err"); then
		modulus=$(openssl rsa -in "$tmp/dev-key.pem" -noout -modulus 2>>"$tmp/err")
		modulus=${modulus#Modulus=}
		exponent_hex=$(openssl rsa -in "$tmp/dev-key.pem" -noout -text 2>>"$tmp/err" |
		    sed -n 's/^publicExponent: [0-9]* (0x\([0-9a-fA-F]*\)).*/\1/p')
		# An even number of hex digits for basenc.
		[ $((${#exponent_hex} % 2)) -eq 1 ] && exponent_hex="0$exponent_hex"
		n=$(printf '%s' "$modulus" | _devkeys_hex_to_b64url)
		e=$(printf '%s' "$exponent_hex" | _devkeys_hex_to_b64url)
		# kid: the first 16 hex digits of the SHA-256 of the public key (DER).
		kid=$(openssl pkey -in "$tmp/dev-key.pem" -pubout -outform DER 2>>"$tmp/err" |
		    openssl dgst -sha256 -r | cut -c1-16)
		kid="dev-$kid"
		if [ -n "$n" ] && [ -n "$e" ] && [ ${#kid} -eq 20 ]; then
			printf '%s\n' "$kid" >"$tmp/kid"
			printf '{"keys":[{"kty":"RSA","use":"sig","alg":"RS256","kid":"%s","n":"%s","e":"%s"}]}\n' \
			    "$kid" "$n" "$e" >"$tmp/jwks.json"
			# The JWKS goes last: its presence means the set is complete.
			mv -f "$tmp/dev-key.pem" "$dir/dev-key.pem" &&
			    mv -f "$tmp/kid" "$dir/kid" &&
			    mv -f "$tmp/jwks.json" "$dir/jwks.json" && rc=0
		fi
	fi
	if [ "$rc" -ne 0 ]; then
		echo "devkeys_ensure: could not create the development key in $dir:" >&2
		cat "$tmp/err" >&2 2>/dev/null
	fi
	rm -rf "$tmp"
	if command -v flock >/dev/null 2>&1; then
		exec 9>&-
	fi
	return "$rc"
}

# Succeeds when the portal configured by the environment (AUTH_JWKS_URL,
# AUTH0_DOMAIN) verifies tokens with the development key in $1 (default
# DEV_ISSUER_DIR): no JWKS setting at all, or a file:// JWKS holding its kid.
devkeys_verify_here() {
	local dir=${1:-$DEV_ISSUER_DIR} url=${AUTH_JWKS_URL:-} kid

	if [ -z "$url" ]; then
		[ -z "${AUTH0_DOMAIN:-}" ]
		return
	fi
	case $url in
	file://*) ;;
	*) return 1 ;;
	esac
	kid=$(cat "$dir/kid" 2>/dev/null) && [ -n "$kid" ] || return 1
	grep -qF "\"$kid\"" "${url#file://}" 2>/dev/null
}
