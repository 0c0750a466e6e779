#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on loopback for the multi-host tests: starts them if they
# are installed but stopped, installs them from Debian's packages if they are missing.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
pg_up() { have pg_isready && pg_isready -h 127.0.0.1 -p 5432 -q; }
redis_up() { have redis-cli && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

if ! pg_up || ! redis_up; then
  if ! have pg_ctlcluster || ! have redis-server; then
    if [ "$(id -u)" = 0 ] && have apt-get; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null
    else
      echo "services: PostgreSQL or Redis is missing and cannot be installed here; those tests will say so" >&2
      exit 0
    fi
  fi
fi
if ! pg_up && have pg_ctlcluster; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 30); do pg_up && break; sleep 1; done
  # trust auth on loopback for the test database, as the CI machines have it
  su postgres -c "psql -qc \"SELECT 1\" -d test" >/dev/null 2>&1 || su postgres -c "createdb test" || true
fi
if ! redis_up && have redis-server; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 30); do redis_up && break; sleep 1; done
fi
pg_up && echo "services: PostgreSQL up" || echo "services: PostgreSQL not reachable" >&2
redis_up && echo "services: Redis up" || echo "services: Redis not reachable" >&2
