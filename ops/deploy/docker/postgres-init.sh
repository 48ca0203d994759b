#!/bin/bash
# Runs once, on the first start of the postgres container (docker-entrypoint-initdb.d):
# one login role and one database per service; only that role may connect to its database.
# REPLICATION: each service's outbox relay streams its database's WAL through a replication slot.
set -euo pipefail

for svc in user product order payment notification; do
  var="$(echo "${svc}" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  password="${!var:-${svc}-dev-password}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v role="${svc}_svc" -v db="commerce_${svc}" -v pw="${password}" <<'SQL'
CREATE ROLE :"role" WITH LOGIN REPLICATION PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"role" ENCODING 'UTF8';
REVOKE CONNECT, TEMPORARY ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"role";
SQL
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -c 'REVOKE CONNECT ON DATABASE postgres FROM PUBLIC' \
  -c 'REVOKE CONNECT ON DATABASE template1 FROM PUBLIC'
