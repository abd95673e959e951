#!/usr/bin/env bats
# keepalive.bats - nginx keeps FastCGI connections open (fastcgi_keep_conn on,
# keepalive 32 per nginx worker). With one worker process of two threads, far
# more connections than threads are opened and then left idle in nginx's
# cache; requests must still be answered (an idle kept connection must never
# hold, or stall, a thread).

load helpers

setup_file() {
	STACK_PROCESSES=1 STACK_THREADS=2 STACK_NGINX_WORKERS=2 routes_stack_start
}

teardown_file() {
	routes_stack_stop
}

# Fires N requests at once through curl --parallel; prints one status per line.
parallel_gets() {
	local n=$1 path=$2 args=() i
	for ((i = 0; i < n; i++)); do
		args+=(-o /dev/null "$STACK_URL$path")
	done
	curl -s --no-progress-meter --parallel --parallel-max "$n" --max-time 10 \
		-H "Authorization: Bearer $CLIENT" -w '%{http_code}\n' "${args[@]}"
}

@test "80 concurrent requests with 2 worker threads all succeed" {
	run parallel_gets 80 "/api/deliverables?month=2"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^200$' <<<"$output")" -eq 80 ] || { echo "statuses: $(sort <<<"$output" | uniq -c | tr '\n' ' ')" >&2; false; }
}

@test "nginx now holds more idle kept connections than the worker has threads" {
	local worker sockets
	worker=$(pgrep -P "$(cat "$STACK_DIR/run/portal-fcgi.pid")" | head -1)
	sockets=$(ls -l "/proc/$worker/fd" | grep -c 'socket:')
	echo "worker $worker holds $sockets sockets" >&2
	[ "$sockets" -gt 4 ]
}

@test "with those connections idle, new requests are answered at once" {
	local i code
	for i in 1 2 3 4 5 6 7 8 9 10; do
		code=$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' \
			-H "Authorization: Bearer $CLIENT" "$STACK_URL/api/metrics")
		[ "$code" = 200 ] || { echo "request $i answered $code" >&2; false; }
	done
}

@test "a second burst after the idle period succeeds too" {
	sleep 2
	run parallel_gets 60 /api/health
	[ "$(grep -c '^200$' <<<"$output")" -eq 60 ] || { echo "statuses: $(sort <<<"$output" | uniq -c | tr '\n' ' ')" >&2; false; }
}
