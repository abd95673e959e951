#!/bin/sh
# function_length.sh - no function of the product code (src/, lambda/,
# cgi-bin/, portalctl/) is longer than FUNCTION_MAX_LINES (120), counted from
# the first line of its signature to its closing brace. Functions are written
# in the house style: the signature from column 0, "{" and "}" alone at column
# 0. Generated sources (src/docs_assets.c) are left out. Prints TAP.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
max=${FUNCTION_MAX_LINES:-120}
cd "$top_srcdir" || exit 1
files=$(ls src/*.c lambda/*.c cgi-bin/*.c portalctl/*.c 2>/dev/null | grep -v '^src/docs_assets\.c$')
long=$(awk -v max="$max" '
	FNR == 1 { start = 0; open = 0 }
	# A line that ends a previous declaration, comment or block: the next
	# non-blank line may begin a signature.
	/^[ \t]*$/ || /;[ \t]*$/ || /\*\/[ \t]*$/ || /^#/ || /^}/ { start = 0; if ($0 !~ /^}/ || !open) next }
	/^\{[ \t]*$/ { open = FNR; name = sig; first = start ? start : FNR; next }
	/^}/ && open {
		len = FNR - first + 1
		if (len > max)
			printf "%s:%d: %s (%d lines)\n", FILENAME, first, name, len
		open = 0; start = 0; next
	}
	!open && start == 0 && /^[A-Za-z_]/ { start = FNR; sig = $0 }
	!open && start != 0 && /\(/ && sig !~ /\(/ { sig = sig " " $0 }
	' $files)
echo "1..1"
if [ -z "$long" ]; then
	echo "ok 1 - no function over $max lines"
else
	echo "not ok 1 - no function over $max lines"
	printf '%s\n' "$long" | sed 's/^/# /'
	exit 1
fi
