#!/bin/sh
# one_client.sh - every outbound HTTP call of the product code (src/,
# lambda/, cgi-bin/, portalctl/) goes through src/httpc.c: it alone registers
# a curl write callback, makes easy handles and sets the time-outs, the CA
# bundle and the error buffer. Prints TAP.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top_srcdir" || exit 1
n=0
fails=0
check() {	# check NAME PATTERN: only src/httpc.c may match PATTERN
	n=$((n + 1))
	files=$(grep -rl --include='*.c' --include='*.h' -e "$2" src lambda cgi-bin portalctl | sort)
	if [ "$files" = "src/httpc.c" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		printf '%s\n' "$files" | sed 's/^/# found in: /'
		fails=$((fails + 1))
	fi
}
echo "1..5"
check "one file registers a curl write callback" 'CURLOPT_WRITEFUNCTION'
check "one file makes curl easy handles" 'curl_easy_init()'
check "one file sets the time-outs" 'CURLOPT_\(CONNECT\)\{0,1\}TIMEOUT'
check "one file sets the CA bundle" 'CURLOPT_CAINFO'
check "one file owns the error buffer" 'CURLOPT_ERRORBUFFER'
[ "$fails" = 0 ]
