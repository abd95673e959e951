# pg.sh - a private PostgreSQL cluster for tests and scripts/bench --migrate.
# Bash only. Source it, then:
#
#   pg_start DIR      # initdb under DIR, start on a free port of 127.0.0.1
#   trap pg_stop EXIT
#   pg_psql DB -f file.sql
#
# As root, the cluster runs as the postgres user (PostgreSQL refuses root).
# Sets PG_BINDIR, PG_PORT, PG_USER, PG_PASS and PG_PASS_URI (the password
# percent-encoded for a URI); pg_uri DB prints the URI of a database.
# Returns non-zero with a message on stderr when PostgreSQL cannot start.
# Needs free_port (scripts/lib/common.sh).

PG_BINDIR=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PG_USER=legacy
PG_PASS='s3cret pässword'
PG_PASS_URI='s3cret%20p%C3%A4ssword'
_pg_dir=

# as_pg CMD...: runs CMD as the cluster's owner (postgres when we are root).
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Creates and starts the cluster under $1 (which must not exist yet).
pg_start() {
	local dir=$1
	if [ -z "$PG_BINDIR" ] || [ ! -x "$PG_BINDIR/initdb" ]; then
		echo "PostgreSQL is not installed (Debian package postgresql)" >&2
		return 1
	fi
	mkdir -p "$dir" || return 1
	# The postgres user must reach the directory.
	chmod 755 "$(dirname "$dir")" "$dir"
	printf '%s\n' "$PG_PASS" >"$dir/pwfile"
	[ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
	if ! as_pg "$PG_BINDIR/initdb" -D "$dir/data" -U "$PG_USER" --pwfile="$dir/pwfile" \
		-A scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
		echo "initdb failed: $(tail -n 1 "$dir/initdb.log")" >&2
		return 1
	fi
	PG_PORT=$(free_port)
	if ! as_pg "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
		-o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null 2>&1; then
		echo "PostgreSQL did not start: $(tail -n 1 "$dir/log" 2>/dev/null)" >&2
		return 1
	fi
	_pg_dir=$dir
	export PG_PORT
}

# Stops the cluster (immediately: it is thrown away).
pg_stop() {
	[ -n "$_pg_dir" ] || return 0
	as_pg "$PG_BINDIR/pg_ctl" -D "$_pg_dir/data" -m immediate stop >/dev/null 2>&1
	_pg_dir=
}

# pg_psql DB ARGS...: psql on database DB, stopping at the first error.
pg_psql() {
	local db=$1
	shift
	PGPASSWORD=$PG_PASS "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" \
		-U "$PG_USER" -d "$db" "$@"
}

# pg_uri DB: the URI of database DB, with the password.
pg_uri() {
	echo "postgresql://$PG_USER:$PG_PASS_URI@127.0.0.1:$PG_PORT/$1"
}
