#!/usr/bin/env bash
# The tests' PostgreSQL: start the machine's PostgreSQL 15 cluster (installing it with apt if it is
# missing), make a `tagsmith` role with a password generated once per machine (kept in
# $TAGSMITH_CACHE, never in the repo) and a `tagsmith_test` database, drop the schemas earlier
# test runs left, and print the URL the tests read from TAGSMITH_TEST_POSTGRES.
#
# With TAGSMITH_TEST_POSTGRES already set (a server elsewhere), it only prints that URL.
set -euo pipefail
if [ -n "${TAGSMITH_TEST_POSTGRES:-}" ]; then
  echo "$TAGSMITH_TEST_POSTGRES"
  exit 0
fi
cache=${TAGSMITH_CACHE:-$HOME/.cache/tagsmith}
mkdir -p "$cache"

if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "postgres.sh: installing PostgreSQL with apt" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
  pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
  pg_ctlcluster "$version" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')

psql_admin() {
  (cd / && su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -p $port $*")
}

secret="$cache/postgres-test-password"
if [ ! -s "$secret" ]; then
  (umask 077 && head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$secret")
fi
password=$(cat "$secret")
psql_admin -d postgres >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tagsmith') THEN
    CREATE ROLE tagsmith LOGIN;
  END IF;
END \$\$;
ALTER ROLE tagsmith PASSWORD '$password';
SQL
if ! psql_admin -d postgres -tA -c "\"SELECT 1 FROM pg_database WHERE datname = 'tagsmith_test'\"" | grep -q 1; then
  psql_admin -d postgres -c "\"CREATE DATABASE tagsmith_test OWNER tagsmith\"" >/dev/null
fi
# The suites work in schemas of their own (t_<random>), the binding tests in `tagsmith`, the
# benches in throwaway ones: drop what earlier runs left (this database is the tests' only).
psql_admin -d tagsmith_test >/dev/null <<'SQL'
SET client_min_messages TO warning;
DO $$ DECLARE s text; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace
           WHERE nspname LIKE 't\_%' OR nspname LIKE 'tagsmith%' OR nspname LIKE 'bench\_%' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
END $$;
SQL
echo "postgres://tagsmith:$password@127.0.0.1:$port/tagsmith_test"
