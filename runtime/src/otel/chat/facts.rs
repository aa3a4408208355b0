//! What is known about a chat answer, from a whole completion or accumulated from a stream, kept
//! within the content bounds whatever the server sends: identifiers cut, at most
//! [`max_items`](crate::content::max_items) choices and tool calls per choice (the rest counted),
//! sparse indices kept as they arrived, and all texts sharing one byte budget.

use std::sync::Arc;

use async_openai::types::chat::{
    ChatChoice, ChatChoiceStream, ChatCompletionMessageToolCallChunk, CompletionUsage,
    CreateChatCompletionResponse, CreateChatCompletionStreamResponse, FinishReason, ServiceTier,
};

use crate::content;
use crate::messages::tool_call;
use crate::text::BoundedText;

/// Limits read once per call.
#[derive(Debug, Clone, Copy)]
struct Limits {
    text: usize,
    items: usize,
}

/// The bytes of texts, identifiers and names still to be kept for this answer: a share of the
/// span's budget, so that memory stays bounded however many items arrive.
#[derive(Debug, Clone, Copy)]
struct Budget(usize);

/// What one recorded choice or tool call costs the budget beside its texts: its share of the
/// span's attributes (the JSON around it) and of memory. A new entry is made only while the
/// budget covers it, so a flood of tiny items cannot grow either without bound.
const ENTRY_COST: usize = 64;

impl Budget {
    /// Takes the cost of a new entry; `false` (and nothing taken) when the budget is spent.
    fn entry(&mut self) -> bool {
        if self.0 < ENTRY_COST {
            return false;
        }
        self.0 -= ENTRY_COST;
        true
    }

    /// `text` cut to the identifier limit and what is left of the budget, secrets masked.
    fn identifier(&mut self, text: &str) -> String {
        let masked = crate::redact::redact_bounded(text, content::max_identifier_length());
        let kept = crate::text::truncate(&masked, self.0);
        self.0 -= kept.len();
        kept.to_owned()
    }

    /// Appends `piece` to `text` within what is left of the budget.
    fn push(&mut self, text: &mut BoundedText, piece: &str) {
        text.push_within(piece, &mut self.0);
    }
}

/// One tool call of an answer.
#[derive(Debug, Clone)]
pub(crate) struct ToolCall {
    pub(crate) index: u32,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) arguments: BoundedText,
}

/// What one choice of an answer said: its text (a true prefix, within the limits) and its tool
/// calls.
#[derive(Debug, Clone)]
pub(crate) struct ChoiceOutput {
    pub(crate) index: u32,
    pub(crate) text: BoundedText,
    pub(crate) tool_calls: Vec<ToolCall>,
    /// Tool calls seen, recorded or not.
    pub(crate) tool_calls_seen: usize,
}

impl ChoiceOutput {
    fn new(index: u32, max_text: usize) -> Self {
        ChoiceOutput {
            index,
            text: BoundedText::new(max_text),
            tool_calls: Vec::new(),
            tool_calls_seen: 0,
        }
    }
}

/// What is known about an answer.
#[derive(Debug, Default)]
pub(crate) struct ResponseFacts {
    pub(crate) id: Option<Arc<str>>,
    pub(crate) model: Option<Arc<str>>,
    pub(crate) created: Option<u32>,
    pub(crate) service_tier: Option<&'static str>,
    pub(crate) system_fingerprint: Option<String>,
    pub(crate) usage: Option<CompletionUsage>,
    /// The recorded choices, in index order: the first always (its text only
    /// when content is captured, for a whole completion), the others only when content is
    /// captured (they are recorded in `gen_ai.output.messages` only).
    pub(crate) choices: Vec<ChoiceOutput>,
    /// Choices seen, recorded or not.
    pub(crate) choices_seen: usize,
    /// The finish reason of each choice that gave one, by index, for the first
    /// [`max_items`](content::max_items) choices (recorded or not).
    pub(crate) finish_reasons: Vec<(u32, &'static str)>,
    /// Whether an answer (or a chunk of one) arrived.
    pub(crate) answered: bool,
    limits: Option<Limits>,
    budget: Option<Budget>,
}

/// `text` cut to the identifier limit, secrets masked.
fn identifier_prefix(text: &str) -> std::borrow::Cow<'_, str> {
    crate::redact::redact_bounded(text, content::max_identifier_length())
}

/// An identifier as recorded: cut to the identifier limit, secrets masked.
fn identifier(text: &str) -> Arc<str> {
    Arc::from(identifier_prefix(text).as_ref())
}

impl ResponseFacts {
    fn limits(&mut self) -> Limits {
        *self.limits.get_or_insert_with(|| Limits {
            text: content::max_length(),
            items: content::max_items(),
        })
    }

    fn budget(&mut self) -> &mut Budget {
        self.budget
            .get_or_insert_with(|| Budget(content::max_span_content()))
    }

    /// Keeps the finish reason of choice `index`.
    fn finish(&mut self, index: u32, reason: &FinishReason) {
        let items = self.limits().items;
        let reason = finish_reason(reason);
        let reasons = &mut self.finish_reasons;
        match reasons.iter().position(|(i, _)| *i == index) {
            Some(at) => reasons[at].1 = reason,
            None if reasons.len() < items => reasons.push((index, reason)),
            None => {}
        }
    }

    /// Takes in a whole completion; choices other than the first are kept only when
    /// `capture_content`, and texts are copied only then.
    pub(crate) fn absorb(&mut self, response: &CreateChatCompletionResponse, capture: bool) {
        self.answered = true;
        self.id = Some(identifier(&response.id));
        self.model = Some(identifier(&response.model));
        self.created = Some(response.created);
        self.service_tier = response.service_tier.as_ref().map(service_tier);
        #[allow(deprecated)]
        let fingerprint = response.system_fingerprint.as_deref();
        self.system_fingerprint = fingerprint.map(|f| identifier_prefix(f).into_owned());
        self.usage = response.usage.clone();
        self.choices_seen = response.choices.len();
        // A whole answer's choices are known by their position (the `index` a server writes
        // may repeat or be anything).
        let limits = self.limits();
        for (at, choice) in positions(&response.choices).take(limits.items) {
            if let Some(reason) = &choice.finish_reason {
                self.finish(at, reason);
            }
        }
        let kept = if capture { limits.items } else { 1 };
        for (at, choice) in positions(&response.choices).take(kept) {
            if !self.budget().entry() {
                break;
            }
            let mut budget = *self.budget();
            let output = whole_choice(at, choice, capture, limits, &mut budget);
            *self.budget() = budget;
            self.choices.push(output);
        }
    }

    /// Takes in one streamed chunk. Each fact comes from the first chunk that carries it (some
    /// providers open with an empty chunk: no id, no model, `created` 0).
    pub(crate) fn observe(&mut self, chunk: &CreateChatCompletionStreamResponse, capture: bool) {
        self.answered = true;
        if self.id.is_none() && !chunk.id.is_empty() {
            self.id = Some(identifier(&chunk.id));
        }
        if self.model.is_none() && !chunk.model.is_empty() {
            self.model = Some(identifier(&chunk.model));
        }
        if self.created.is_none() && chunk.created != 0 {
            self.created = Some(chunk.created);
        }
        if self.service_tier.is_none() {
            self.service_tier = chunk.service_tier.as_ref().map(service_tier);
        }
        #[allow(deprecated)]
        if self.system_fingerprint.is_none() {
            self.system_fingerprint =
                (chunk.system_fingerprint.as_deref()).map(|f| identifier_prefix(f).into_owned());
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
        }
        for choice in &chunk.choices {
            self.observe_choice(choice, capture);
        }
    }

    fn observe_choice(&mut self, choice: &ChatChoiceStream, capture: bool) {
        let limits = self.limits();
        if let Some(reason) = &choice.finish_reason {
            self.finish(choice.index, reason);
        }
        // The first choice (index 0) always; the others only for `gen_ai.output.messages`.
        if choice.index != 0 && !capture {
            return;
        }
        // Kept in index order; a new index takes a place while fewer than the limit are kept
        // and the budget covers it.
        let at = match self
            .choices
            .binary_search_by_key(&choice.index, |c| c.index)
        {
            Ok(at) => at,
            Err(at) => {
                self.choices_seen += 1;
                if self.choices.len() >= limits.items || !self.budget().entry() {
                    return;
                }
                self.choices
                    .insert(at, ChoiceOutput::new(choice.index, limits.text));
                at
            }
        };
        let mut budget = *self.budget();
        let output = &mut self.choices[at];
        if let Some(text) = &choice.delta.content {
            budget.push(&mut output.text, text);
        }
        for delta in choice.delta.tool_calls.iter().flatten() {
            push_tool_call(output, delta, limits, &mut budget);
        }
        *self.budget() = budget;
    }

    /// What the first choice (index 0) said, if it arrived.
    pub(crate) fn first(&self) -> Option<&ChoiceOutput> {
        self.choices.first().filter(|c| c.index == 0)
    }

    /// The finish reason of choice `index`, if it gave one.
    pub(crate) fn finish_reason_of(&self, index: u32) -> Option<&'static str> {
        let found = self.finish_reasons.iter().find(|(i, _)| *i == index);
        found.map(|(_, reason)| *reason)
    }

    /// The finish reasons, in the order of their choices' indices.
    pub(crate) fn finish_reasons(&self) -> Vec<&'static str> {
        let mut reasons = self.finish_reasons.clone();
        reasons.sort_by_key(|(index, _)| *index);
        reasons.into_iter().map(|(_, reason)| reason).collect()
    }

    /// A readable one-line summary of the first choice's tool calls:
    /// `get_weather({"location":"Paris"})`.
    pub(crate) fn tool_call_summary(&self) -> String {
        crate::messages::tool_call_summary(
            self.first()
                .into_iter()
                .flat_map(|c| &c.tool_calls)
                .map(|call| (call.name.as_str(), call.arguments.as_str())),
        )
    }

    /// Whether some choices or tool calls were counted but not recorded.
    pub(crate) fn items_dropped(&self) -> bool {
        self.choices_seen > self.choices.len()
            || self
                .choices
                .iter()
                .any(|c| c.tool_calls_seen > c.tool_calls.len())
    }
}

/// Each choice with its position.
fn positions(choices: &[ChatChoice]) -> impl Iterator<Item = (u32, &ChatChoice)> {
    (0..=u32::MAX).zip(choices)
}

/// A whole choice, texts copied only when `capture` is on (the first choice's text is then the
/// function's response); the finish reason is kept always.
fn whole_choice(
    at: u32,
    choice: &ChatChoice,
    capture: bool,
    limits: Limits,
    budget: &mut Budget,
) -> ChoiceOutput {
    let mut output = ChoiceOutput::new(at, if capture { limits.text } else { 0 });
    budget.push(
        &mut output.text,
        choice.message.content.as_deref().unwrap_or(""),
    );
    let calls = choice.message.tool_calls.as_deref().unwrap_or_default();
    output.tool_calls_seen = calls.len();
    for (index, call) in calls.iter().take(limits.items).enumerate() {
        if !budget.entry() {
            break;
        }
        let (id, name, arguments) = tool_call(call);
        let mut kept = BoundedText::new(limits.text);
        budget.push(&mut kept, arguments);
        output.tool_calls.push(ToolCall {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            id: budget.identifier(id),
            name: budget.identifier(name),
            arguments: kept,
        });
    }
    output
}

/// Merges a streamed tool-call delta into `output`: a new index starts a call (while fewer than
/// the item limit are recorded), a known one extends it.
fn push_tool_call(
    output: &mut ChoiceOutput,
    delta: &ChatCompletionMessageToolCallChunk,
    limits: Limits,
    budget: &mut Budget,
) {
    // Kept in index order, as the choices.
    let at = match output
        .tool_calls
        .binary_search_by_key(&delta.index, |c| c.index)
    {
        Ok(at) => at,
        Err(at) => {
            output.tool_calls_seen += 1;
            if output.tool_calls.len() >= limits.items || !budget.entry() {
                return;
            }
            let call = ToolCall {
                index: delta.index,
                id: String::new(),
                name: String::new(),
                arguments: BoundedText::new(limits.text),
            };
            output.tool_calls.insert(at, call);
            at
        }
    };
    let call = &mut output.tool_calls[at];
    if let Some(id) = &delta.id
        && call.id.is_empty()
    {
        call.id = budget.identifier(id);
    }
    if let Some(function) = &delta.function {
        // Some providers repeat the name in every delta: keep the first.
        if let Some(name) = &function.name
            && call.name.is_empty()
        {
            call.name = budget.identifier(name);
        }
        if let Some(arguments) = &function.arguments {
            budget.push(&mut call.arguments, arguments);
        }
    }
}

/// The wire name of a service tier.
pub(crate) fn service_tier(tier: &ServiceTier) -> &'static str {
    match tier {
        ServiceTier::Auto => "auto",
        ServiceTier::Default => "default",
        ServiceTier::Flex => "flex",
        ServiceTier::Scale => "scale",
        ServiceTier::Priority => "priority",
        ServiceTier::Fast => "fast",
    }
}

/// The wire name of a finish reason.
pub(crate) fn finish_reason(reason: &FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::FunctionCall => "function_call",
    }
}
