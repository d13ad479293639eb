//! A scrape's samples, copied out of the body into one flat buffer so they can be ingested (or
//! dropped) as a whole after the parse has succeeded.

use crate::exposition::{self, ExpositionError, Format, ParseLimits, ParseStats, ParsedSample};
use model::UnixMs;

/// The samples of one scrape. All names and label strings live in one `String`, so filling a batch
/// allocates only when its buffers grow; `clear` keeps the capacity for the next scrape.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    text: String,
    /// (start, end) byte ranges into `text`: name, then label name/value pairs.
    spans: Vec<(u32, u32)>,
    samples: Vec<Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Index of the name span in `spans`; the labels follow it.
    first_span: u32,
    label_count: u32,
    at_ms: Option<UnixMs>,
    value: f64,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a scrape body into a new batch; see [`exposition::parse`] for what fails.
    pub fn from_exposition(
        body: &str,
        format: Format,
        limits: &ParseLimits,
    ) -> Result<(Batch, ParseStats), ExpositionError> {
        // Names and labels take less room than the body they come from, so reserving its size
        // once saves the reallocations (and copies) of a growing buffer on big scrapes.
        let mut batch = Batch {
            text: String::with_capacity(body.len()),
            spans: Vec::with_capacity(body.len() / 16),
            samples: Vec::with_capacity(body.len() / 64),
        };
        let stats = exposition::parse(body, format, limits, |sample| batch.push_parsed(sample))?;
        Ok((batch, stats))
    }

    /// Appends one sample; `at_ms: None` means "at the scrape time given to ingest".
    pub fn push<'a>(
        &mut self,
        name: &str,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
        at_ms: Option<UnixMs>,
        value: f64,
    ) {
        let first_span = self.spans.len() as u32;
        self.push_str(name);
        let mut label_count = 0;
        for (label, label_value) in labels {
            self.push_str(label);
            self.push_str(label_value);
            label_count += 1;
        }
        self.samples.push(Entry {
            first_span,
            label_count,
            at_ms,
            value,
        });
    }

    /// Appends a parsed sample.
    pub fn push_parsed(&mut self, sample: &ParsedSample<'_>) {
        self.push(
            sample.name,
            sample
                .labels
                .iter()
                .map(|label| (label.name, label.value.as_ref())),
            sample.timestamp_ms,
            sample.value,
        );
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
        self.samples.clear();
    }

    /// The samples as (name, labels, timestamp, value).
    pub fn iter(
        &self,
    ) -> impl Iterator<
        Item = (
            &str,
            impl Iterator<Item = (&str, &str)> + '_,
            Option<UnixMs>,
            f64,
        ),
    > + '_ {
        self.samples.iter().map(move |entry| {
            let first = entry.first_span as usize;
            let name = self.span(first);
            let labels = (0..entry.label_count as usize).map(move |index| {
                (
                    self.span(first + 1 + 2 * index),
                    self.span(first + 2 + 2 * index),
                )
            });
            (name, labels, entry.at_ms, entry.value)
        })
    }

    fn push_str(&mut self, text: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        self.spans.push((start, self.text.len() as u32));
    }

    fn span(&self, index: usize) -> &str {
        let (start, end) = self.spans[index];
        &self.text[start as usize..end as usize]
    }
}
