#!/bin/sh
# Run once by the postgres image when it creates its data directory (/docker-entrypoint-initdb.d):
# the login role the orders processes use (DATABASE_URL in docker-compose.yml), a member of
# orders_app, which the migrations grant what the processes need and nothing more (no DDL;
# docs/security.md). The migrations run as the superuser (MIGRATION_DATABASE_URL).
# A data volume created before this script existed keeps no such role: create it as below, or
# start from a new volume.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v password="$ORDERS_DB_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE orders_app NOLOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orders_app')
\gexec
CREATE ROLE orders_service LOGIN PASSWORD :'password' IN ROLE orders_app;
SQL
