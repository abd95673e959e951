# dynalite.sh - start and stop a private dynalite (local DynamoDB) for scripts
# and tests. Bash only. Source it, then:
#
#   dynalite_start [DATA_DIR]   # in memory without DATA_DIR, LevelDB under it with
#   trap dynalite_stop EXIT
#
# dynalite_start runs dynalite from tools/dynalite on a free port of
# 127.0.0.1 (the kernel picks it: no race), waits until it answers, and
# exports DYNALITE_PORT, DYNALITE_PID, AWS_ENDPOINT_URL_DYNAMODB and dummy
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION (kept when already
# set). Returns non-zero with a message on stderr when dynalite cannot start.
#
# Settings (environment): DYNALITE_DIR (default <project>/tools/dynalite),
# DYNALITE_TABLE_MS (time tables stay CREATING/DELETING; dynalite's default
# 500), DYNALITE_LOG (default a temporary file), NODE (default node).

DYNALITE_START_TIMEOUT_S=${DYNALITE_START_TIMEOUT_S:-30}

# The project root: two levels above this file.
_dynalite_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Starts dynalite in the background; see above.
dynalite_start() {
	local data_dir=${1:-}
	local dir=${DYNALITE_DIR:-$_dynalite_root/tools/dynalite}
	local node=${NODE:-node}
	local portfile i

	if [ -n "${DYNALITE_PID:-}" ] && kill -0 "$DYNALITE_PID" 2>/dev/null; then
		echo "dynalite_start: already running (pid $DYNALITE_PID)" >&2
		return 1
	fi
	if [ ! -d "$dir/node_modules/dynalite" ]; then
		echo "dynalite_start: dynalite is not installed in $dir (run: npm ci --prefix $dir)" >&2
		return 1
	fi
	if ! command -v "$node" >/dev/null 2>&1; then
		echo "dynalite_start: node is not installed (Debian package nodejs)" >&2
		return 1
	fi
	if [ -n "$data_dir" ]; then
		mkdir -p "$data_dir" || return 1
	fi
	portfile=$(mktemp "${TMPDIR:-/tmp}/dynalite-port.XXXXXX") || return 1
	if [ -z "${DYNALITE_LOG:-}" ]; then
		DYNALITE_LOG=$(mktemp "${TMPDIR:-/tmp}/dynalite-log.XXXXXX") || return 1
		_dynalite_own_log=$DYNALITE_LOG
	fi
	export DYNALITE_LOG

	# Listen on 127.0.0.1 only (dynalite's own CLI listens on every address),
	# on port 0, and write the port the kernel gave once it is listening.
	DYNALITE_PORTFILE=$portfile "$node" -e '
		var dynalite = require(process.argv[1]);
		var fs = require("fs");
		var opts = {};
		if (process.argv[2]) opts.path = process.argv[2];
		var ms = parseInt(process.env.DYNALITE_TABLE_MS || "", 10);
		if (ms >= 0) { opts.createTableMs = ms; opts.deleteTableMs = ms; opts.updateTableMs = ms; }
		var server = dynalite(opts);
		server.listen(0, "127.0.0.1", function () {
			fs.writeFileSync(process.env.DYNALITE_PORTFILE, String(server.address().port));
			console.log("dynalite listening on 127.0.0.1:" + server.address().port);
		});
		function stop() { server.close(function () { process.exit(0); }); setTimeout(function () { process.exit(0); }, 2000).unref(); }
		process.on("SIGTERM", stop);
		process.on("SIGINT", stop);
	' "$dir/node_modules/dynalite" "$data_dir" >>"$DYNALITE_LOG" 2>&1 &
	DYNALITE_PID=$!
	export DYNALITE_PID

	DYNALITE_PORT=
	for ((i = 0; i < DYNALITE_START_TIMEOUT_S * 10; i++)); do
		if [ -s "$portfile" ]; then
			DYNALITE_PORT=$(cat "$portfile")
			break
		fi
		if ! kill -0 "$DYNALITE_PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	rm -f "$portfile"
	if [ -z "$DYNALITE_PORT" ]; then
		echo "dynalite_start: dynalite did not start; its log ($DYNALITE_LOG):" >&2
		tail -n 20 "$DYNALITE_LOG" >&2
		dynalite_stop
		return 1
	fi
	# It answers: a TCP connection succeeds.
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$DYNALITE_PORT") 2>/dev/null; then
		echo "dynalite_start: dynalite does not answer on 127.0.0.1:$DYNALITE_PORT" >&2
		dynalite_stop
		return 1
	fi
	export DYNALITE_PORT
	export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DYNALITE_PORT"
	export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-AKIDLOCALDYNALITE}
	export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local-dynalite-secret}
	export AWS_REGION=${AWS_REGION:-us-east-1}
	return 0
}

# Stops the dynalite that dynalite_start started (by its pid); safe to call twice.
dynalite_stop() {
	local i

	if [ -n "${DYNALITE_PID:-}" ]; then
		kill "$DYNALITE_PID" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$DYNALITE_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$DYNALITE_PID" 2>/dev/null
		wait "$DYNALITE_PID" 2>/dev/null
	fi
	if [ -n "${_dynalite_own_log:-}" ]; then
		rm -f "$_dynalite_own_log"
		unset _dynalite_own_log DYNALITE_LOG
	fi
	unset DYNALITE_PID DYNALITE_PORT
	return 0
}
