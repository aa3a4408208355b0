//! Reading `gen_ai.output.messages` back in tests: per message, the `(id, name)` of its tool
//! calls. Shared by the generated-case suite and the hostile-server suite.

/// The `(id, name)` of each tool call of each message of the JSON `gen_ai.output.messages`;
/// panics if it is not JSON (the attribute must always be).
pub fn tool_calls(json: &str) -> Vec<Vec<(String, String)>> {
    let messages: serde_json::Value =
        serde_json::from_str(json).expect("gen_ai.output.messages is JSON");
    messages
        .as_array()
        .expect("output messages are an array")
        .iter()
        .map(|message| {
            message["parts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|part| part["type"] == "tool_call")
                .map(|part| {
                    let field = |key: &str| part[key].as_str().unwrap_or("").to_owned();
                    (field("id"), field("name"))
                })
                .collect()
        })
        .collect()
}
