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

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build --workspace --bins

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace 2>&1 | tee "$log" || status=$?
# One closing line for the whole run: the sum over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
