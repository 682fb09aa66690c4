#!/bin/sh
# Runs once, when the primary's data directory is created (docker-entrypoint-initdb.d):
# lets the replica stream WAL over the compose network with a password.
set -eu
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
