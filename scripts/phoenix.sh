#!/usr/bin/env bash
# A local Arize Phoenix server (an LLM tracing backend) for the end-to-end test tests/phoenix.rs.
#
#   bash scripts/phoenix.sh install            # create (or reuse) the virtualenv, nothing else
#   eval "$(bash scripts/phoenix.sh start)"    # install if needed, start a server, export
#                                              # PHOENIX_URL, PHOENIX_PID and PHOENIX_RUN_DIR
#   bash scripts/phoenix.sh stop [--log]       # stop that server (found through PHOENIX_RUN_DIR or
#                                              # PHOENIX_PID); --log prints its log first
#   bash scripts/phoenix.sh smoke              # with PHOENIX_URL set: send one OTLP trace from
#                                              # Python and read it back over the REST API
#
# `start` prints only the `export ...` lines on standard output (progress goes to standard error),
# so `eval "$(...)"` works; pair it with `trap 'bash scripts/phoenix.sh stop' EXIT`.
#
# The server's HTTP side listens on 127.0.0.1 (its OTLP/gRPC receiver, which Phoenix always binds
# on all interfaces, gets a free port too and is unused), keeps its SQLite database in a fresh
# temporary directory (removed by `stop`), and has telemetry, external resources (web fonts,
# downloads), the agent assistant and the MCP server switched off. Every PHOENIX_* and OTEL_*
# variable of the caller (and PYTHONPATH) is removed from its environment, so no outside setting
# leaks in.
#
# PHOENIX_URL is the server's root: the UI, the REST API under /v1, and the OTLP/HTTP trace
# receiver at /v1/traces (protobuf), so it is what OTEL_EXPORTER_OTLP_ENDPOINT takes.
#
# Environment:
#   TRACED_CHAT_CACHE        cache root (default ~/.cache/traced-chat); the virtualenv lives in
#                            $TRACED_CHAT_CACHE/phoenix-venv and is rebuilt when
#                            scripts/phoenix/requirements.txt, constraints.txt or the interpreter
#                            change
#   PHOENIX_PYTHON           interpreter for the virtualenv (default: python3.11, else python3;
#                            Phoenix needs CPython 3.11 to 3.14)
#   PHOENIX_START_TIMEOUT    seconds to wait for the server to answer (default 120)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reqs="$here/phoenix/requirements.txt"
constraints="$here/phoenix/constraints.txt"
cache="${TRACED_CHAT_CACHE:-$HOME/.cache/traced-chat}"
venv="$cache/phoenix-venv"

log() { printf 'phoenix.sh: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

pick_python() {
    local py="${PHOENIX_PYTHON:-}"
    if [[ -z "$py" ]]; then
        if command -v python3.11 >/dev/null 2>&1; then py=python3.11; else py=python3; fi
    fi
    command -v "$py" >/dev/null 2>&1 || die "no Python interpreter '$py' (set PHOENIX_PYTHON)"
    "$py" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 15)))' ||
        die "Phoenix needs CPython 3.11 to 3.14; $py is $("$py" --version 2>&1)"
    printf '%s' "$py"
}

# The key of a virtualenv: the pins and the interpreter's version.
venv_key() {
    "$1" - "$reqs" "$constraints" <<'EOF'
import hashlib, sys
h = hashlib.sha256(sys.version.encode())
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        h.update(f.read())
print(h.hexdigest())
EOF
}

install() {
    local py key stamp start
    py="$(pick_python)"
    key="$(venv_key "$py")"
    stamp="$venv/.traced-chat-key"
    mkdir -p "$cache"
    # One installer at a time (two `start`s at once share the virtualenv).
    exec 9>"$cache/phoenix-venv.lock"
    flock 9
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" && -x "$venv/bin/python" ]]; then
        log "reusing the virtualenv $venv"
    else
        log "creating the virtualenv $venv (arize-phoenix from $reqs)"
        start=$SECONDS
        rm -rf "$venv"
        "$py" -m venv "$venv"
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --quiet --no-input \
            -r "$reqs" -c "$constraints" >&2 ||
            die "pip install failed (the virtualenv $venv is left incomplete and will be rebuilt)"
        # Compile now, not on the first start (which has a time limit).
        "$venv/bin/python" -m compileall -q "$venv/lib" >/dev/null 2>&1 || true
        printf '%s\n' "$key" >"$stamp"
        log "installed in $((SECONDS - start)) s ($(du -sh "$venv" 2>/dev/null | cut -f1))"
    fi
    flock -u 9
    exec 9>&-
}

# Two free TCP ports on 127.0.0.1 (HTTP, gRPC).
free_ports() {
    "$venv/bin/python" - <<'EOF'
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# Whether process $1 runs (a zombie, exited but not yet reaped by us, does not).
alive() {
    local state
    state="$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# Exit 0 once GET url answers 200.
answers() {
    "$venv/bin/python" - "$1" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}

start() {
    install
    local run port grpc_port url pid timeout started var
    timeout="${PHOENIX_START_TIMEOUT:-120}"
    run="$(mktemp -d "${TMPDIR:-/tmp}/traced-chat-phoenix.XXXXXX")"
    mkdir -p "$run/data"
    read -r port grpc_port < <(free_ports)
    url="http://127.0.0.1:$port"
    log "starting Phoenix at $url (gRPC $grpc_port, state and log in $run)"
    (
        # Nothing of the caller's Phoenix or OpenTelemetry configuration reaches the server.
        for var in $(compgen -e); do
            case "$var" in PHOENIX_* | OTEL_*) unset "$var" ;; esac
        done
        unset PYTHONPATH PYTHONHOME
        export PHOENIX_HOST=127.0.0.1 \
            PHOENIX_PORT="$port" \
            PHOENIX_GRPC_PORT="$grpc_port" \
            PHOENIX_WORKING_DIR="$run/data" \
            PHOENIX_TELEMETRY_ENABLED=false \
            PHOENIX_ALLOW_EXTERNAL_RESOURCES=false \
            PHOENIX_DISABLE_AGENT_ASSISTANT=true \
            PHOENIX_ENABLE_MCP_SERVER=false \
            PHOENIX_ENABLE_PROMETHEUS=false \
            PHOENIX_LOG_MIGRATIONS=false \
            DO_NOT_TRACK=1 \
            PYTHONUNBUFFERED=1
        # Its own process group (so `stop` ends it with any child), no tie to our stdout (so
        # `$(...)` around `start` returns).
        exec setsid "$venv/bin/python" -m phoenix.server.main serve \
            </dev/null >"$run/server.log" 2>&1
    ) &
    pid=$!
    printf '%s\n' "$pid" >"$run/pid"
    started=$SECONDS
    until answers "$url/readyz" && answers "$url/v1/projects"; do
        if ! alive "$pid"; then
            log "error: the server exited during start-up; its log ($run/server.log):"
            cat "$run/server.log" >&2
            rm -rf "$run"
            exit 1
        fi
        if ((SECONDS - started >= timeout)); then
            log "error: no answer from $url/readyz after ${timeout} s; the server's log:"
            cat "$run/server.log" >&2
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            rm -rf "$run"
            exit 1
        fi
        sleep 1
    done
    log "Phoenix answers at $url after $((SECONDS - started)) s (pid $pid)"
    printf 'export PHOENIX_URL=%q\nexport PHOENIX_PID=%q\nexport PHOENIX_RUN_DIR=%q\n' \
        "$url" "$pid" "$run"
}

stop() {
    local print_log=false pid="" run="${PHOENIX_RUN_DIR:-}" i
    [[ "${1:-}" == "--log" ]] && print_log=true
    if [[ -n "$run" && -f "$run/pid" ]]; then
        pid="$(cat "$run/pid")"
    else
        pid="${PHOENIX_PID:-}"
    fi
    if [[ -z "$pid" ]]; then
        log "nothing to stop (neither PHOENIX_RUN_DIR nor PHOENIX_PID is set)"
        return 0
    fi
    if $print_log && [[ -n "$run" && -f "$run/server.log" ]]; then
        log "the server's log ($run/server.log):"
        cat "$run/server.log" >&2
    fi
    # Only a process that is still our Phoenix server (pids are reused).
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'phoenix.server.main'; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid ignored SIGTERM for 15 s: SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped Phoenix (pid $pid)"
    else
        log "Phoenix (pid $pid) is not running"
    fi
    if [[ -n "$run" && -f "$run/pid" ]]; then
        rm -rf "$run"
    fi
}

smoke() {
    [[ -n "${PHOENIX_URL:-}" ]] || die "PHOENIX_URL is not set (eval \"\$(bash $0 start)\" first)"
    [[ -x "$venv/bin/python" ]] || die "no virtualenv at $venv (bash $0 install)"
    "$venv/bin/python" "$here/phoenix/smoke.py" "$PHOENIX_URL"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop "${2:-}" ;;
    smoke) smoke ;;
    *)
        echo "usage: $0 install | start | stop [--log] | smoke" >&2
        exit 2
        ;;
esac
