//! Runs the quickstart example binary (built by this same `cargo test`) offline and checks what
//! it prints: the quickstart's 7 spans with the feature on, no span at all with it off.

mod common;

fn run_quickstart() -> (String, String) {
    run_example("quickstart")
}

/// Runs an example offline, exporting to the console (see `common::example_command`).
fn run_example(name: &str) -> (String, String) {
    let out = common::example_command(name).output().unwrap();
    assert!(
        out.status.success(),
        "quickstart failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn spans(stdout: &str) -> Vec<serde_json::Value> {
    serde_json::Deserializer::from_str(stdout)
        .into_iter::<serde_json::Value>()
        .collect::<Result<_, _>>()
        .expect("stdout is a sequence of JSON spans")
}

#[test]
fn quickstart_prints_the_seed_trace_or_nothing() {
    let (stdout, stderr) = run_quickstart();
    assert!(
        stderr.contains("The meaning of life is to find purpose"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Death is the cessation of life."),
        "{stderr}"
    );
    let spans = spans(&stdout);
    if !cfg!(feature = "otel") {
        assert!(spans.is_empty(), "feature off: no span, got {stdout}");
        return;
    }
    let names: Vec<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "HTTP POST",
            "openai.ChatCompletion.create",
            "call",
            "HTTP POST",
            "openai.ChatCompletion.create",
            "call",
            "main"
        ]
    );
    let by_id = |id: &serde_json::Value| {
        spans
            .iter()
            .find(|s| &s["context"]["span_id"] == id)
            .unwrap()
    };
    let main = &spans[6];
    assert_eq!(main["parent_id"], serde_json::Value::Null);
    assert_eq!(main["kind"], "SpanKind.INTERNAL");
    for (i, prompt) in [(2, "life in a short"), (5, "death in a long")] {
        let call = &spans[i];
        assert_eq!(by_id(&call["parent_id"])["name"], "main");
        assert!(
            call["attributes"]["openai.prompt"]
                .as_str()
                .unwrap()
                .contains(prompt)
        );
        assert_eq!(
            by_id(&spans[i - 1]["parent_id"])["context"]["span_id"],
            call["context"]["span_id"]
        );
        assert_eq!(
            spans[i - 2]["parent_id"],
            spans[i - 1]["context"]["span_id"]
        );
        assert_eq!(spans[i - 1]["kind"], "SpanKind.CLIENT");
        assert_eq!(spans[i - 1]["attributes"]["openai.create.max_tokens"], 500);
        assert_eq!(spans[i - 2]["attributes"]["http.status_code"], 200);
    }
    // The console exporter's shape, field by field.
    let keys: Vec<&String> = main.as_object().unwrap().keys().collect();
    for key in [
        "name",
        "context",
        "kind",
        "parent_id",
        "start_time",
        "end_time",
        "status",
        "attributes",
        "events",
        "links",
        "resource",
    ] {
        assert!(keys.iter().any(|k| *k == key), "missing {key}");
    }
    let trace = &main["context"]["trace_id"];
    assert!(trace.as_str().unwrap().starts_with("0x") && trace.as_str().unwrap().len() == 34);
    assert!(spans.iter().all(|s| &s["context"]["trace_id"] == trace));
    assert_eq!(main["status"]["status_code"], "UNSET");
    assert_eq!(
        main["resource"]["attributes"]["telemetry.sdk.language"],
        "rust"
    );
    // The metrics go to stderr when telemetry shuts down.
    assert!(
        stderr.contains(r#"{"metric":"gen_ai.client.token.usage","unit":"{token}""#),
        "{stderr}"
    );
}

fn span<'a>(spans: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    spans
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

#[test]
fn embeddings_example_is_one_trace_of_a_small_retrieval() {
    let (stdout, stderr) = run_example("embeddings");
    assert!(stderr.contains("The meaning of life"), "{stderr}");
    let spans = spans(&stdout);
    if !cfg!(feature = "otel") {
        assert!(spans.is_empty());
        return;
    }
    let answer = span(&spans, "answer");
    let trace = &answer["context"]["trace_id"];
    assert!(
        spans.iter().all(|s| &s["context"]["trace_id"] == trace),
        "one trace"
    );
    let id = &answer["context"]["span_id"];
    let children: Vec<_> = spans.iter().filter(|s| &s["parent_id"] == id).collect();
    let names: Vec<_> = children
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names.iter().filter(|n| **n == "embed").count(),
        4,
        "the question and three documents: {names:?}"
    );
    assert!(names.contains(&"openai.ChatCompletion.create"), "{names:?}");
    let embeddings: Vec<_> = spans
        .iter()
        .filter(|s| s["name"] == "openai.Embedding.create")
        .collect();
    assert_eq!(embeddings.len(), 4);
    for span in embeddings {
        assert_eq!(span["attributes"]["gen_ai.operation.name"], "embeddings");
        assert_eq!(
            span["attributes"]["gen_ai.embeddings.dimension.count"],
            1536
        );
    }
}

#[test]
fn streaming_tools_and_errors_examples_run_offline() {
    let (stdout, stderr) = run_example("streaming");
    assert!(
        stderr.contains("Death is the end of life's story."),
        "{stderr}"
    );
    let spans_streaming = spans(&stdout);
    let (stdout, stderr) = run_example("tools");
    assert!(stderr.contains("get_weather"), "{stderr}");
    let spans_tools = spans(&stdout);
    let (stdout, stderr) = run_example("errors");
    assert!(stderr.contains("404 as expected"), "{stderr}");
    assert!(
        stderr.contains("after the retry: The meaning of life"),
        "{stderr}"
    );
    let spans_errors = spans(&stdout);
    if !cfg!(feature = "otel") {
        assert!(spans_streaming.is_empty() && spans_tools.is_empty() && spans_errors.is_empty());
        return;
    }
    let tell = span(&spans_streaming, "tell");
    assert_eq!(
        tell["attributes"]["openai.response"],
        "Death is the end of life's story."
    );
    let chat = span(&spans_streaming, "openai.ChatCompletion.create");
    assert_eq!(chat["attributes"]["gen_ai.usage.output_tokens"], 9);
    assert_eq!(chat["events"][0]["name"], "gen_ai.first_chunk");

    let weather = span(&spans_tools, "weather");
    assert_eq!(
        weather["attributes"]["openai.response"],
        r#"get_weather({"location":"Paris, France","unit":"celsius"})"#
    );

    let asks: Vec<_> = spans_errors.iter().filter(|s| s["name"] == "ask").collect();
    assert_eq!(asks[0]["status"]["status_code"], "ERROR");
    assert_eq!(asks[0]["attributes"]["error.type"], "model_not_found");
    assert_eq!(asks[1]["status"]["status_code"], "UNSET");
    let codes: Vec<_> = spans_errors
        .iter()
        .filter(|s| s["name"] == "HTTP POST")
        .map(|s| s["attributes"]["http.status_code"].clone())
        .collect();
    assert_eq!(codes, [404, 429, 200]);
}
