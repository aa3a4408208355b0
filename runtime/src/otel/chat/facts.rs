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
use crate::otel::attrs::identifier;
use crate::text::BoundedText;

/// Limits read once per call.
#[derive(Debug, Clone, Copy)]
struct Limits {
    text: usize,
    items: usize,
}

/// The bytes of texts, identifiers and names still to be kept for this answer: a share of the
/// span's budget, so that memory stays bounded however many items arrive. Once it refuses a new
/// entry it refuses every later one, so the entries kept are the first that arrived.
#[derive(Debug, Clone, Copy)]
struct Budget(usize, bool);

/// What one recorded choice or tool call costs the budget beside its texts: its share of the
/// span's attributes (the JSON around it) and of memory. A new entry is made only while the
/// budget covers it, so a flood of tiny items cannot grow either without bound.
const ENTRY_COST: usize = 64;

impl Budget {
    /// Takes the cost of a new entry; `false` (and nothing taken) when the budget is spent.
    fn entry(&mut self) -> bool {
        self.entry_with(0)
    }

    /// Takes the cost of a new entry when the budget also covers `texts` more bytes (its id and
    /// name, so that no entry is kept without them); `false` (and nothing taken) otherwise.
    fn entry_with(&mut self, texts: usize) -> bool {
        if self.1 || self.0 < ENTRY_COST.saturating_add(texts) {
            self.1 = true;
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

/// Items that arrived but were not recorded, each counted once: their keys are remembered up
/// to a cap (so memory stays bounded), the ones past it counted without telling repeats apart.
#[derive(Debug, Default)]
pub(crate) struct Unrecorded {
    keys: std::collections::HashSet<(u32, u32)>,
    beyond: usize,
}

/// How many unrecorded keys are remembered.
const UNRECORDED_KEYS: usize = 4096;

impl Unrecorded {
    /// Notes the item `key`.
    fn note(&mut self, key: (u32, u32)) {
        if self.keys.contains(&key) {
            return;
        }
        if self.keys.len() < UNRECORDED_KEYS {
            self.keys.insert(key);
        } else {
            self.beyond += 1;
        }
    }

    /// Notes `n` items that cannot repeat (the rest of a whole answer).
    fn add(&mut self, n: usize) {
        self.beyond = self.beyond.saturating_add(n);
    }

    /// How many were noted.
    pub(crate) fn count(&self) -> usize {
        self.keys.len().saturating_add(self.beyond)
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
}

impl ChoiceOutput {
    fn new(index: u32, max_text: usize) -> Self {
        ChoiceOutput {
            index,
            text: BoundedText::new(max_text),
            tool_calls: Vec::new(),
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
    /// Choices that arrived and were not recorded.
    pub(crate) unrecorded_choices: Unrecorded,
    /// Tool calls that arrived and were not recorded.
    pub(crate) unrecorded_tool_calls: Unrecorded,
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

impl ResponseFacts {
    fn limits(&mut self) -> Limits {
        *self.limits.get_or_insert_with(|| Limits {
            text: content::max_length(),
            items: content::max_items(),
        })
    }

    fn budget(&mut self) -> &mut Budget {
        self.budget
            .get_or_insert_with(|| Budget(content::max_span_content(), false))
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
            let calls = choice.message.tool_calls.as_ref().map_or(0, Vec::len);
            self.unrecorded_tool_calls
                .add(calls - output.tool_calls.len());
            *self.budget() = budget;
            self.choices.push(output);
        }
        // The choices not recorded, and all their tool calls.
        for choice in &response.choices[self.choices.len()..] {
            self.unrecorded_choices.add(1);
            let calls = choice.message.tool_calls.as_ref().map_or(0, Vec::len);
            self.unrecorded_tool_calls.add(calls);
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
                if self.choices.len() >= limits.items || !self.budget().entry() {
                    self.unrecorded_choices.note((choice.index, 0));
                    for delta in choice.delta.tool_calls.iter().flatten() {
                        self.unrecorded_tool_calls.note((choice.index, delta.index));
                    }
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
            if !push_tool_call(output, delta, limits, &mut budget) {
                self.unrecorded_tool_calls.note((choice.index, delta.index));
            }
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
    pub(crate) fn tool_call_summary(&self) -> crate::text::BoundedText {
        crate::messages::tool_call_summary(
            self.first()
                .into_iter()
                .flat_map(|c| &c.tool_calls)
                .map(|call| (call.name.as_str(), call.arguments.as_str())),
        )
    }

    /// Whether some choices or tool calls arrived but were not recorded.
    pub(crate) fn items_dropped(&self) -> bool {
        self.unrecorded_choices.count() > 0 || self.unrecorded_tool_calls.count() > 0
    }

    /// How many choices arrived, recorded or not.
    pub(crate) fn choice_count(&self) -> usize {
        self.choices.len() + self.unrecorded_choices.count()
    }

    /// How many tool calls arrived, recorded or not.
    pub(crate) fn tool_call_count(&self) -> usize {
        let recorded: usize = self.choices.iter().map(|c| c.tool_calls.len()).sum();
        recorded + self.unrecorded_tool_calls.count()
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
    for (index, call) in calls.iter().take(limits.items).enumerate() {
        let (id, name, arguments) = tool_call(call);
        if !budget.entry_with(identifier_bytes(id) + identifier_bytes(name)) {
            break;
        }
        // The id and name first: the entry was admitted for them.
        let (id, name) = (budget.identifier(id), budget.identifier(name));
        let mut kept = BoundedText::new(limits.text);
        budget.push(&mut kept, arguments);
        output.tool_calls.push(ToolCall {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            id,
            name,
            arguments: kept,
        });
    }
    output
}

/// The bytes an identifier will keep at most.
fn identifier_bytes(text: &str) -> usize {
    text.len().min(content::max_identifier_length())
}

/// Merges a streamed tool-call delta into `output`: a new index starts a call (while fewer than
/// the item limit are recorded and the budget covers it with its id and name), a known one
/// extends it. `false` when the delta's call is not recorded.
fn push_tool_call(
    output: &mut ChoiceOutput,
    delta: &ChatCompletionMessageToolCallChunk,
    limits: Limits,
    budget: &mut Budget,
) -> bool {
    // Kept in index order, as the choices.
    let at = match output
        .tool_calls
        .binary_search_by_key(&delta.index, |c| c.index)
    {
        Ok(at) => at,
        Err(at) => {
            let name = delta.function.as_ref().and_then(|f| f.name.as_deref());
            let texts =
                delta.id.as_deref().map_or(0, identifier_bytes) + name.map_or(0, identifier_bytes);
            if output.tool_calls.len() >= limits.items || !budget.entry_with(texts) {
                return false;
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
    true
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
