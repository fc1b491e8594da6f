#!/bin/sh
# postgres.sh prepares a PostgreSQL server for Tansa's storage tests on a
# Debian machine, as root, and prints its URL as the last line on stdout:
#
#	TANSA_TEST_POSTGRES_URL=$(.ci/postgres.sh)
#
# It installs the postgresql package when the server binaries are absent,
# creates (once) and starts a cluster of its own named tansa_test on port
# 55432 (or the next free port), and creates the role and database
# tansa_test. Running it again reuses the cluster and changes nothing else.
# When sourced, it also exports TANSA_TEST_POSTGRES_URL.
#
# Everything but the URL goes to stderr, and the server is started with its
# output in its own log file, so that a caller capturing stdout with $(…) is
# not kept waiting by the server holding the pipe open.

tansa_pg_setup() (
	set -eu
	cluster=tansa_test
	want_port=${TANSA_PG_PORT:-55432}
	user=tansa_test
	password=tansa_test
	db=tansa_test

	if [ "$(id -u)" -ne 0 ]; then
		echo "postgres.sh: must run as root" >&2
		exit 1
	fi

	if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
		echo "postgres.sh: installing postgresql" >&2
		export DEBIAN_FRONTEND=noninteractive
		timeout 600 apt-get update -qq </dev/null >&2
		timeout 900 apt-get install -y -qq --no-install-recommends postgresql </dev/null >&2
	fi

	version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
	if [ -z "$version" ]; then
		echo "postgres.sh: no PostgreSQL server found under /usr/lib/postgresql" >&2
		exit 1
	fi

	if [ ! -d "/etc/postgresql/$version/$cluster" ]; then
		port=$want_port
		while ss -Hltn "sport = :$port" 2>/dev/null | grep -q . ||
			grep -qs "^port *= *$port\b" /etc/postgresql/*/*/postgresql.conf; do
			port=$((port + 1))
		done
		echo "postgres.sh: creating cluster $version/$cluster on port $port" >&2
		pg_createcluster --port "$port" "$version" "$cluster" \
			-- --auth-local=peer --auth-host=scram-sha-256 </dev/null >&2
	fi
	port=$(sed -n 's/^port *= *\([0-9][0-9]*\).*/\1/p' "/etc/postgresql/$version/$cluster/postgresql.conf" | tail -n 1)

	if ! pg_ctlcluster "$version" "$cluster" status >/dev/null 2>&1; then
		echo "postgres.sh: starting cluster $version/$cluster" >&2
		log=/var/log/postgresql/postgresql-$version-$cluster.log
		timeout 120 pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start \
			</dev/null >>"$log" 2>&1 || {
			echo "postgres.sh: cluster did not start; the end of $log:" >&2
			tail -n 20 "$log" >&2
			exit 1
		}
	fi

	tries=0
	until pg_isready -q -h 127.0.0.1 -p "$port"; do
		tries=$((tries + 1))
		if [ "$tries" -ge 60 ]; then
			echo "postgres.sh: server on port $port not ready" >&2
			exit 1
		fi
		sleep 1
	done

	psql_admin() {
		runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres "$@" </dev/null
	}
	if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != 1 ]; then
		psql_admin -c "CREATE ROLE $user LOGIN PASSWORD '$password'" >&2
	fi
	if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
		# C.UTF-8 orders by code point, as SQLite does, and maps case beyond
		# ASCII, which Tansa's searches need.
		psql_admin -c "CREATE DATABASE $db OWNER $user ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0" >&2
	fi

	echo "postgres://$user:$password@127.0.0.1:$port/$db?sslmode=disable"
)

if tansa_pg_url=$(tansa_pg_setup); then
	export TANSA_TEST_POSTGRES_URL="$tansa_pg_url"
	echo "$tansa_pg_url"
	unset tansa_pg_url
else
	unset tansa_pg_url
	echo "postgres.sh: setup failed" >&2
	# return works when sourced; exit when run.
	return 1 2>/dev/null || exit 1
fi
