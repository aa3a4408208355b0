#!/usr/bin/env bash
# Instructions per network-free chat call (and per #[traced_chat] call with 1 KiB, 64 KiB and
# 1 MiB prompt and response), for each variant, counted by callgrind: a run of N
# calls minus a run of 0 calls (start-up), divided by N. Stable on a noisy machine.
#   bash scripts/callgrind.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
cargo bench --bench instructions --no-run >/dev/null 2>&1
bin=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -1)
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '| variant | instructions per call |\n| --- | ---: |\n'
for variant in plain traced_client traced_fn bare_fn floor noop content_1k content_64k content_1m; do
  base=$(count "$variant" 0)
  total=$(count "$variant" "$n")
  printf '| %s | %d |\n' "$variant" $(( (total - base) / n ))
done
