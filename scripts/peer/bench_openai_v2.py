#!/usr/bin/env python3
"""The Python peer of `benches/overhead.rs` (group `chat_call`), and the side-by-side table.

    bench_openai_v2.py run --mode plain|instrumented [--iterations N] [--warmup N] [--batch N]
        One process, one mode: a network-free `openai.OpenAI` chat call (its HTTP client is
        answered in-process by an httpx.MockTransport with the recorded fixture), timed over N
        calls after a warm-up, in batches. Prints one JSON line on stdout: the median over the
        batches of each batch's mean ns per call, the overall mean, and how many spans reached
        the exporter (the run fails if instrumented calls export fewer spans than calls, or plain
        calls export any); a one-line summary goes to stderr.

    bench_openai_v2.py report --python-results FILE --criterion-dir DIR
        Reads the JSON lines written by `run` and criterion's estimates for the Rust benches,
        prints one Markdown table.

Started by scripts/python-peer-bench.sh, which creates the virtualenv and runs both.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

MODEL = "gpt-3.5-turbo"
SYSTEM = "You are a helpful assistant."
PROMPT = "What is the meaning of life in a short sentence?"  # PROMPT in benches/overhead.rs


# --------------------------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Discard(SpanExporter):
        """Receives batches and drops them, like `Discard` in benches/overhead.rs."""

        def __init__(self) -> None:
            self.spans = 0
            self.names: set[str] = set()

        def export(self, spans):
            self.spans += len(spans)
            for span in spans[:1]:
                self.names.add(span.name)
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    # Same setup in both modes (the Rust bench also installs the batch provider before its plain
    # run); only the instrumentor differs.
    exporter = Discard()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    import openai

    instrumentor = None
    if args.mode == "instrumented":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        instrumentor = OpenAIInstrumentor()
        instrumentor.instrument(tracer_provider=provider)

    import httpx

    body = Path(args.fixture).read_bytes()
    headers = {"content-type": "application/json"}
    first_request = []

    def handler(request):
        if not first_request:
            first_request.append(request)
        return httpx.Response(200, headers=headers, content=body)

    client = openai.OpenAI(
        api_key="sk-bench",
        base_url="http://in-process.invalid/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    create = client.chat.completions.create
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": PROMPT},
    ]

    def call():
        return create(
            model=MODEL,
            messages=messages,
            max_completion_tokens=500,
            temperature=0.5,
        )

    # Sanity: the fixture parses, the request carries what the Rust bench sends.
    first = call()
    assert first.choices[0].message.content, "fixture answer has content"
    assert first.usage.total_tokens == 43, first.usage
    sent = json.loads(first_request[0].content)
    assert first_request[0].url.path == "/v1/chat/completions", first_request[0].url
    assert sent == {
        "model": MODEL,
        "messages": messages,
        "max_completion_tokens": 500,
        "temperature": 0.5,
    }, sent

    for _ in range(args.warmup):
        call()

    provider.force_flush()
    spans_before = exporter.spans
    gc.collect()
    # Criterion-style: the run is cut into batches; a batch's figure is its mean per call, the
    # run's figure the median over its batches (robust to another process taking the CPU for a
    # moment on a shared machine).
    batches = max(1, args.iterations // args.batch)
    batch_means = []
    clock = time.perf_counter_ns
    start = clock()
    for _ in range(batches):
        t0 = clock()
        for _ in range(args.batch):
            call()
        batch_means.append((clock() - t0) / args.batch)
    total = clock() - start
    calls = batches * args.batch
    provider.force_flush()
    spans = exporter.spans - spans_before
    provider.shutdown()
    if instrumentor is not None:
        instrumentor.uninstrument()
        if spans < calls:
            sys.exit(f"instrumented run exported {spans} spans for {calls} calls")
    elif spans:
        sys.exit(f"plain run exported {spans} spans; the instrumentation leaked in")

    print(
        json.dumps(
            {
                "mode": args.mode,
                "iterations": calls,
                "batch": args.batch,
                "median_ns": statistics.median(batch_means),
                "mean_ns": total / calls,
                "spans": spans,
                "span_names": sorted(exporter.names),
                "openai": openai.__version__,
                "http": f"httpx {httpx.__version__}",
                "python": sys.version.split()[0],
                "capture_content": os.environ.get(
                    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false"
                ),
            }
        ),
        flush=True,
    )
    print(
        f"    {args.mode:>12}: {statistics.median(batch_means) / 1000:8.1f} µs/call "
        f"(median of {batches} batches of {args.batch}; mean {total / calls / 1000:.1f} µs)",
        file=sys.stderr,
        flush=True,
    )


# ------------------------------------------------------------------------------------------ report

RUST_ROWS = [
    ("Rust plain async-openai", "plain_async_openai"),
    ("Rust `traced_client_in_traced_chat_fn`", "traced_client_in_traced_chat_fn"),
    ("Rust `bare_traced_chat_fn` (seed names, no metrics, no traceparent)", "bare_traced_chat_fn"),
    ("Rust `hand_written_floor`", "hand_written_floor"),
    ("Rust no-op provider (`traced_chat_fn_noop_provider`)", "traced_chat_fn_noop_provider"),
]


def _us(ns: float) -> str:
    return f"{ns / 1000:,.2f} µs"


def _added(ns: float, base: float | None) -> tuple[str, str]:
    if base is None:
        return ("n/a", "n/a")
    delta = ns - base
    return (f"{delta / 1000:+,.2f} µs", f"{100 * delta / base:+.1f}%")


def report(args: argparse.Namespace) -> None:
    runs: dict[str, list[dict]] = {"plain": [], "instrumented": []}
    for line in Path(args.python_results).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            runs[record["mode"]].append(record)

    rows = []
    python_meta = None
    py_base = None
    for label, mode in [("Python plain", "plain"), ("Python instrumented (openai-v2)", "instrumented")]:
        records = runs[mode]
        if not records:
            rows.append((label, "not run", "", "n/a", "n/a"))
            continue
        python_meta = python_meta or records[0]
        values = [r["median_ns"] for r in records]
        median = statistics.median(values)
        if mode == "plain":
            py_base = median
            added = ("—", "—")
        else:
            added = _added(median, py_base)
        spread = f"{_us(min(values))} – {_us(max(values))} (min–max, {len(values)} runs)"
        rows.append((label, _us(median), spread, *added))

    crit = Path(args.criterion_dir)
    rust_base = None
    stamps = []
    for label, bench in RUST_ROWS:
        path = crit / bench / "new" / "estimates.json"
        if not path.exists():
            rows.append((label, "missing", f"no {path}", "n/a", "n/a"))
            continue
        stamps.append(path.stat().st_mtime)
        median = json.loads(path.read_text())["median"]
        point = median["point_estimate"]
        ci = median["confidence_interval"]
        spread = (
            f"{_us(ci['lower_bound'])} – {_us(ci['upper_bound'])} "
            f"({100 * ci['confidence_level']:.0f}% CI of median)"
        )
        if bench == "plain_async_openai":
            rust_base = point
            added = ("—", "—")
        else:
            added = _added(point, rust_base)
        rows.append((label, _us(point), spread, *added))

    print("| benchmark | median per call | spread | added vs plain (µs) | added vs plain (%) |")
    print("| --- | ---: | --- | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    if python_meta:
        print(
            f"Python {python_meta['python']}, openai {python_meta['openai']} "
            f"({python_meta['http']} MockTransport), "
            f"{python_meta['iterations']:,} calls per run after warm-up, each run its own process, "
            f"plain and instrumented runs alternating; a run's figure is the median over its "
            f"batches of {python_meta['batch']} calls of the batch's mean per call. "
            f"Message content capture: {python_meta['capture_content']}. "
            f"Spans per instrumented call: "
            f"{runs['instrumented'][0]['spans'] / runs['instrumented'][0]['iterations']:.0f} "
            f"({', '.join(runs['instrumented'][0]['span_names'])}); no meter or logger provider "
            f"is set, so its metrics and events go to the API's no-op providers."
            if runs["instrumented"]
            else ""
        )
    if stamps:
        print(
            "Rust: criterion `chat_call` group, median of the sample, results written "
            + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(min(stamps)))
            + (" – " + time.strftime("%H:%M:%S", time.localtime(max(stamps))) if max(stamps) != min(stamps) else "")
            + f" ({args.criterion_dir}); the traced rows create three spans per call "
            "(the `#[traced_chat]` function, the client call, `HTTP POST`)."
        )


# -------------------------------------------------------------------------------------------- main


def main() -> None:
    here = Path(__file__).resolve().parent
    fixture = here.parent.parent / "runtime" / "fixtures" / "openai" / "chat_completion.json"

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run")
    p_run.add_argument("--mode", choices=["plain", "instrumented"], required=True)
    p_run.add_argument("--iterations", type=int, default=2000)
    p_run.add_argument("--warmup", type=int, default=300)
    p_run.add_argument("--batch", type=int, default=100)
    p_run.add_argument("--fixture", default=str(fixture))
    p_run.set_defaults(func=run)
    p_report = sub.add_parser("report")
    p_report.add_argument("--python-results", required=True)
    p_report.add_argument("--criterion-dir", required=True)
    p_report.set_defaults(func=report)

    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
