"""Checks a Phoenix server the way tests/phoenix.rs uses it, from Python alone.

    python smoke.py http://127.0.0.1:PORT      (bash scripts/phoenix.sh smoke)

Sends two traces over OTLP/HTTP protobuf to PHOENIX_URL/v1/traces with the OpenTelemetry Python
SDK (installed with Phoenix): one whose resource names a project (`openinference.project.name`),
one whose resource does not. Then reads them back with the REST API,
GET /v1/projects/{project}/spans?trace_id=..., and checks names, parentage and attributes,
including keys that are prefixes of other keys (`openai.prompt` and `openai.prompt.length`),
which Phoenix stores nested. Prints what it found; exits non-zero on a mismatch.
"""

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind


def send(url: str, resource: dict) -> str:
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    tracer = provider.get_tracer("traced-chat-smoke")
    with tracer.start_as_current_span("smoke.call") as call:
        call.set_attribute("openai.prompt", "What is the meaning of life?")
        call.set_attribute("openai.prompt.length", 28)
        with tracer.start_as_current_span("smoke.chat", kind=SpanKind.CLIENT) as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.request.model", "gpt-3.5-turbo")
            chat.set_attribute("gen_ai.usage.input_tokens", 11)
            chat.set_attribute("gen_ai.usage.output_tokens", 7)
            chat.set_attribute("gen_ai.response.id", "chatcmpl-smoke")
        trace_id = format(call.get_span_context().trace_id, "032x")
    provider.shutdown()
    return trace_id


def spans(url: str, project: str, trace_id: str) -> list:
    query = urllib.parse.urlencode({"trace_id": trace_id, "limit": 100})
    endpoint = f"{url}/v1/projects/{urllib.parse.quote(project, safe='')}/spans?{query}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(endpoint, timeout=10) as r:
                data = json.load(r)["data"]
                if len(data) >= 2:
                    return data
        except urllib.error.HTTPError as e:
            if e.code != 404:  # the project appears with its first span
                raise
        if time.monotonic() > deadline:
            sys.exit(f"no trace {trace_id} in project {project!r} after 30 s")
        time.sleep(0.5)


def check(found: list, trace_id: str) -> None:
    by_name = {s["name"]: s for s in found}
    call, chat = by_name["smoke.call"], by_name["smoke.chat"]
    assert call["parent_id"] is None, call
    assert chat["parent_id"] == call["context"]["span_id"], chat
    assert all(s["context"]["trace_id"] == trace_id for s in found)
    assert call["attributes"]["openai.prompt"] == "What is the meaning of life?", call
    assert call["attributes"]["openai.prompt.length"] == 28, call
    assert chat["attributes"]["gen_ai.request.model"] == "gpt-3.5-turbo", chat
    assert chat["attributes"]["gen_ai.usage.input_tokens"] == 11, chat
    assert chat["attributes"]["gen_ai.response.id"] == "chatcmpl-smoke", chat
    # Phoenix derives OpenInference attributes from the GenAI ones.
    assert chat["span_kind"] == "LLM", chat
    assert chat["attributes"]["llm.model_name"] == "gpt-3.5-turbo", chat
    assert chat["attributes"]["llm.token_count.prompt"] == 11, chat


def main() -> None:
    url = sys.argv[1].rstrip("/")
    project = f"traced-chat-smoke-{uuid.uuid4().hex[:12]}"
    for label, resource, where in [
        ("named project", {"service.name": project, "openinference.project.name": project}, project),
        ("no project attribute", {"service.name": project}, "default"),
    ]:
        trace_id = send(url, resource)
        found = spans(url, where, trace_id)
        check(found, trace_id)
        print(f"{label}: trace {trace_id} read back from project {where!r}:")
        for s in found:
            print("  " + json.dumps(s, sort_keys=True))
    print("smoke: OK")


if __name__ == "__main__":
    main()
