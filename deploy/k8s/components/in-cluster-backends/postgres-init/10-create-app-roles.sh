#!/usr/bin/env bash
# Creates the application's database roles in the in-cluster Postgres. The postgres image runs
# this once, on the first start with an empty data directory, against its socket-only temporary
# server; later changes to Secret leadflood-db are NOT picked up (delete the PVC to start over).
#
# For every file /etc/leadflood-db/*-database-url (Secret leadflood-db), of the form
#   postgresql://ROLE:PASSWORD@HOST:PORT/DATABASE[?params]
# it creates: the login ROLE with PASSWORD; DATABASE if missing; CONNECT/CREATE/TEMPORARY on it
# for ROLE; and a schema named ROLE owned by ROLE (first on the default search_path "$user").
# Percent-escapes are not decoded: use URL-safe passwords (e.g. `openssl rand -hex 24`).
set -Eeuo pipefail

url_dir="${LEADFLOOD_DB_URL_DIR:-/etc/leadflood-db}"

admin_psql() {
	psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "${POSTGRES_USER:-postgres}" "$@"
}

shopt -s nullglob
files=("$url_dir"/*-database-url)
if ((${#files[@]} == 0)); then
	echo "leadflood: no *-database-url files in $url_dir (is Secret leadflood-db complete?)" >&2
	exit 1
fi

for file in "${files[@]}"; do
	key="$(basename "$file")"
	url="$(tr -d '[:space:]' <"$file")"
	rest="${url#*://}"        # ROLE:PASSWORD@HOST:PORT/DATABASE?params
	creds="${rest%@*}"         # up to the last "@", which precedes the host
	host_part="${rest##*@}"
	role="${creds%%:*}"
	password="${creds#*:}"
	database="${host_part#*/}"
	database="${database%%\?*}"
	if [[ $url != *://* || $rest != *@* || $creds != *:* || $host_part != */* \
		|| -z $role || -z $password || -z $database ]]; then
		echo "leadflood: $key is not postgresql://ROLE:PASSWORD@HOST:PORT/DATABASE" >&2
		exit 1
	fi
	echo "leadflood: $key -> role \"$role\", database \"$database\""

	admin_psql --dbname postgres \
		--set role="$role" --set password="$password" --set database="$database" <<-'SQL'
		SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
		 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
		SELECT format('CREATE DATABASE %I', :'database')
		 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
		GRANT CONNECT, CREATE, TEMPORARY ON DATABASE :"database" TO :"role";
	SQL
	admin_psql --dbname "$database" --set role="$role" <<-'SQL'
		CREATE SCHEMA IF NOT EXISTS :"role" AUTHORIZATION :"role";
		-- Extensions in their own schema every role may use (the leads migrations before 0004 use pg_trgm).
		CREATE SCHEMA IF NOT EXISTS extensions;
		CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions;
		GRANT USAGE ON SCHEMA extensions TO :"role";
	SQL
done
