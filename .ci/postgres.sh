# Sourced by .ci/run: start a throw-away PostgreSQL on loopback for the PostgreSQL storage tests
# and export OCPP_SOAP_TEST_PG_URL. Installs Debian's postgresql when it is missing (CI runs as
# root on a machine that may be new). The server is stopped when the CI script exits.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ] && [ "$(id -u)" = 0 ]; then
    echo "ci: installing postgresql"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ -n "$pg_bin" ] && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
    pg_dir=$(mktemp -d /tmp/ocpp-soap-pg.XXXXXX)
    chown postgres "$pg_dir"
    pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres >/dev/null
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
        -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1" start >/dev/null
    export OCPP_SOAP_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$pg_port/postgres"
    trap 'runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1; rm -rf "$pg_dir"' EXIT
    echo "ci: PostgreSQL $("$pg_bin/postgres" --version | awk "{print \$3}") on 127.0.0.1:$pg_port"
else
    echo "ci: no PostgreSQL available; its storage tests will fail under CI"
fi
