//! [`Attrs`]: a list of span attributes built without `if let Some(..) { push(..) }` chains, and
//! the per-span byte budget of the attributes whose size depends on what was sent or received.

use opentelemetry::{Array, KeyValue, StringValue, Value};

/// Attributes being collected for one span.
#[derive(Debug, Default)]
pub(crate) struct Attrs {
    list: Vec<KeyValue>,
    /// Bytes left for variable-size attributes ([`content::max_span_content`](crate::content::max_span_content)).
    budget: usize,
    /// Some variable-size attribute was left out or cut for the budget.
    truncated: bool,
}

impl Attrs {
    /// An empty list with room for `capacity` attributes, and the span's content budget.
    pub(crate) fn new(capacity: usize) -> Self {
        Attrs {
            list: Vec::with_capacity(capacity),
            budget: crate::content::max_span_content(),
            truncated: false,
        }
    }

    /// Adds `key = value`.
    #[inline]
    pub(crate) fn add(&mut self, key: &'static str, value: impl Into<Value>) -> &mut Self {
        self.list.push(KeyValue::new(key, value));
        self
    }

    /// Adds `key = value` when there is a value.
    #[inline]
    pub(crate) fn opt<V: Into<Value>>(&mut self, key: &'static str, value: Option<V>) -> &mut Self {
        if let Some(value) = value {
            self.list.push(KeyValue::new(key, value));
        }
        self
    }

    /// Adds an integer attribute when there is a value (counts are `u32` in async-openai).
    #[inline]
    pub(crate) fn int(&mut self, key: &'static str, value: Option<impl Into<i64>>) -> &mut Self {
        self.opt(key, value.map(Into::into))
    }

    /// Adds a string-array attribute unless `values` is empty.
    pub(crate) fn strings<S: Into<StringValue>>(
        &mut self,
        key: &'static str,
        values: impl IntoIterator<Item = S>,
    ) -> &mut Self {
        let values: Vec<StringValue> = values.into_iter().map(Into::into).collect();
        if !values.is_empty() {
            self.list
                .push(KeyValue::new(key, Value::Array(Array::String(values))));
        }
        self
    }

    /// Adds a string-array attribute of variable-size values (ids, names) within the budget:
    /// the values that fit whole, in order; the others are left out.
    pub(crate) fn bounded_strings<'s>(
        &mut self,
        key: &'static str,
        values: impl IntoIterator<Item = &'s str>,
    ) -> &mut Self {
        let mut kept = Vec::new();
        for value in values {
            if value.len() > self.budget {
                self.truncated = true;
                break;
            }
            self.budget -= value.len();
            kept.push(StringValue::from(value.to_owned()));
        }
        self.strings(key, kept)
    }

    /// Adds a JSON attribute rendered by `render(max_text)`, where `max_text` is the most bytes
    /// each text in it may keep: rendered at `max_text` first and, when the JSON does not fit the
    /// budget, again with texts cut shorter; left out (and the span marked truncated) when even
    /// that does not fit. The JSON stays valid either way.
    pub(crate) fn json(
        &mut self,
        key: &'static str,
        max_text: usize,
        render: impl Fn(usize) -> String,
    ) -> &mut Self {
        let json = render(max_text);
        self.json_rendered(key, json, max_text, render)
    }

    /// As [`json`](Self::json), with `json` already rendered at `max_text`.
    pub(crate) fn json_rendered(
        &mut self,
        key: &'static str,
        mut json: String,
        max_text: usize,
        render: impl Fn(usize) -> String,
    ) -> &mut Self {
        if json.len() > self.budget {
            self.truncated = true;
            // Scale the texts down to the share of the budget, with room for the structure.
            let scaled = max_text.saturating_mul(self.budget) / json.len().max(1) / 2;
            json = render(scaled);
        }
        if json.len() <= self.budget {
            self.budget -= json.len();
            self.list.push(KeyValue::new(key, json));
        }
        self
    }

    /// An empty list with room for `capacity` attributes and `budget` bytes of variable-size ones
    /// (what the span's start attributes left).
    pub(crate) fn with_budget(capacity: usize, budget: usize) -> Self {
        Attrs {
            list: Vec::with_capacity(capacity),
            budget,
            truncated: false,
        }
    }

    /// The bytes left for variable-size attributes.
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    /// The attributes, with [`traced_chat.content.truncated`](crate::attributes::TRACED_CHAT_CONTENT_TRUNCATED)
    /// when the budget cut something.
    pub(crate) fn into_vec(mut self) -> Vec<KeyValue> {
        if self.truncated {
            self.list.push(KeyValue::new(
                crate::attributes::TRACED_CHAT_CONTENT_TRUNCATED,
                true,
            ));
        }
        self.list
    }
}

/// An `f32` request parameter as the decimal the user wrote (`0.7`, not `0.699999988…`).
pub(crate) fn f32_value(value: f32) -> Value {
    // Rounding to 6 decimals recovers what was written (f32 keeps about 7 significant digits)
    // without formatting on the hot path.
    let wide = f64::from(value);
    let rounded = (wide * 1e6).round() / 1e6;
    Value::F64(if rounded.is_finite() { rounded } else { wide })
}

/// A server-chosen identifier (id, model, fingerprint) as recorded: cut to
/// [`max_identifier_length`](crate::content::max_identifier_length), secrets masked.
pub(crate) fn identifier(text: &str) -> std::sync::Arc<str> {
    let limit = crate::content::max_identifier_length();
    std::sync::Arc::from(crate::redact::redact_bounded(text, limit).as_ref())
}
