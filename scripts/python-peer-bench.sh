#!/usr/bin/env bash
# Side by side: the official Python instrumentation (opentelemetry-instrumentation-openai-v2) and
# traced-chat, on the same network-free chat call answered with
# runtime/fixtures/openai/chat_completion.json. Prints one Markdown table.
#
#   scripts/python-peer-bench.sh                 # Python runs, then `cargo bench --bench overhead -- chat_call`
#   SKIP_CARGO=1 scripts/python-peer-bench.sh    # Python runs, Rust figures from the last criterion run
#
# Environment:
#   SKIP_CARGO=1      do not run cargo; read target/criterion/chat_call/*/new/estimates.json as they are
#   RUNS=5            Python runs per mode (each its own process, plain and instrumented alternating)
#   ITERATIONS=2000   timed calls per Python run
#   WARMUP=300        untimed calls per Python run before timing
#   BATCH=100         calls per timed batch; a run's figure is the median of its batches' means
#   PYTHON=python3    interpreter for the virtualenv (3.10 or newer; the instrumentation needs it)
#   OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is passed through to the instrumented runs
#   (the instrumentation's default, false, unless set).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

runs="${RUNS:-5}"
iterations="${ITERATIONS:-2000}"
warmup="${WARMUP:-300}"
batch="${BATCH:-100}"
venv="$root/target/peer-venv"
requirements="$root/scripts/peer/requirements.txt"
bench="$root/scripts/peer/bench_openai_v2.py"
criterion_dir="target/criterion/chat_call"

log() { printf '%s\n' "$*" >&2; }

# --- 1. the virtualenv ---------------------------------------------------------------------------
if [[ -z "${PYTHON:-}" ]]; then
    if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    log "error: $PYTHON is $("$PYTHON" --version 2>&1); opentelemetry-instrumentation-openai-v2 needs 3.10+"
    exit 1
fi

stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    log "==> creating $venv ($("$PYTHON" --version 2>&1)) and installing scripts/peer/requirements.txt"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    "$venv/bin/python" -m pip check >&2
    printf '%s\n' "$want" >"$stamp"
else
    log "==> reusing $venv (requirements unchanged)"
fi

# --- 2. the Python peer --------------------------------------------------------------------------
results="$(mktemp "${TMPDIR:-/tmp}/python-peer-bench.XXXXXX")"
trap 'rm -f "$results"' EXIT

log "==> Python: $runs runs per mode, $iterations calls each (batches of $batch) after $warmup warm-up calls"
for ((i = 1; i <= runs; i++)); do
    log "  run $i/$runs"
    for mode in plain instrumented; do
        "$venv/bin/python" "$bench" run --mode "$mode" \
            --iterations "$iterations" --warmup "$warmup" --batch "$batch" >>"$results"
    done
done

# --- 3. the Rust benches -------------------------------------------------------------------------
if [[ "${SKIP_CARGO:-0}" == "1" ]]; then
    log "==> SKIP_CARGO=1: using the criterion results already in $criterion_dir"
else
    log "==> cargo bench --bench overhead -- chat_call"
    cargo bench --bench overhead -- chat_call >&2
fi
if [[ ! -d "$criterion_dir" ]]; then
    log "error: no criterion results in $criterion_dir (run without SKIP_CARGO=1)"
    exit 1
fi

# --- 4. the table --------------------------------------------------------------------------------
"$venv/bin/python" "$bench" report --python-results "$results" --criterion-dir "$criterion_dir"
