//! The bounded series store.

use std::borrow::Cow;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hashbrown::{DefaultHashBuilder, HashSet, HashTable};
use model::{Labels, SeriesKey, UnixMs};
use serde::Serialize;

use super::{Batch, Selector};

/// Bounds of a [`SeriesStore`]. Memory is at most about
/// `max_series × (points_per_series × 12 bytes + per-series overhead)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesLimits {
    /// Most series kept at once; a new series beyond it is dropped (and counted) unless a stale
    /// one can be evicted to make room (default 200,000).
    pub max_series: usize,
    /// Points kept per series, oldest dropped first (default 64: 16 minutes at a 15 s interval,
    /// 5⅓ minutes at the core's 5 s).
    pub points_per_series: usize,
    /// Most labels on one series; a sample with more is dropped (default 64).
    pub max_labels_per_series: usize,
    /// A series with no point for this long (relative to the newest point the store has seen) is
    /// stale and may be evicted (default 5 minutes, as Prometheus's staleness).
    pub stale_after_ms: i64,
}

impl Default for SeriesLimits {
    fn default() -> Self {
        Self {
            max_series: 200_000,
            points_per_series: 64,
            max_labels_per_series: 64,
            stale_after_ms: 5 * 60 * 1000,
        }
    }
}

/// What happened to one ingested sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Appended to an existing series.
    Appended,
    /// Started a new series.
    NewSeries,
    /// Dropped: the store is full of fresh series.
    DroppedSeriesLimit,
    /// Dropped: older than the series' last point, or at the same time with another value.
    DroppedOutOfOrder,
    /// Ignored: the same timestamp and value as the series' last point (an exporter that sets
    /// its own timestamps and has not updated them). Not counted as dropped.
    Duplicate,
    /// Dropped: too many labels, or a label name repeated.
    DroppedInvalid,
}

/// What happened to a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchOutcome {
    pub appended: usize,
    pub new_series: usize,
    pub dropped_series_limit: usize,
    pub dropped_out_of_order: usize,
    pub dropped_invalid: usize,
    pub duplicates: usize,
}

impl BatchOutcome {
    fn count(&mut self, outcome: IngestOutcome) {
        match outcome {
            IngestOutcome::Appended => self.appended += 1,
            IngestOutcome::NewSeries => self.new_series += 1,
            IngestOutcome::DroppedSeriesLimit => self.dropped_series_limit += 1,
            IngestOutcome::DroppedOutOfOrder => self.dropped_out_of_order += 1,
            IngestOutcome::DroppedInvalid => self.dropped_invalid += 1,
            IngestOutcome::Duplicate => self.duplicates += 1,
        }
    }

    /// Samples not stored because of a limit, their order or their labels (duplicates excluded).
    pub fn dropped(&self) -> usize {
        self.dropped_series_limit + self.dropped_out_of_order + self.dropped_invalid
    }
}

/// Counters and gauges of the store, for `/metrics` and the benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StoreStats {
    pub series: usize,
    pub points: usize,
    /// New series refused because the store was full.
    pub dropped_series_total: u64,
    /// Samples not stored (series limit, out of order, invalid).
    pub dropped_points_total: u64,
    /// Stale series evicted.
    pub evicted_series_total: u64,
    /// Approximate heap bytes held: point buffers, label strings, index.
    pub approx_bytes: usize,
}

/// One series and its points in the shape of `GET /api/v1/series`:
/// `{"name": .., "labels": {..}, "points": [[unix_ms, value], ..]}`. NaN and infinities serialize as
/// `null` (JSON has no such numbers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoints {
    pub name: String,
    pub labels: Labels,
    pub points: Vec<(UnixMs, f64)>,
}

/// The newest point of one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatestPoint {
    pub key: SeriesKey,
    pub at_ms: UnixMs,
    pub value: f64,
}

/// A thread-safe, memory-bounded set of series windows. Share it as `Arc<SeriesStore>`.
///
/// Series are spread over a fixed number of shards, each behind its own mutex, by a hash of
/// their identity, so concurrent scrapes rarely wait on each other and a query holds one shard
/// at a time. Metric and label strings are interned store-wide as `Arc<str>`: a thousand series
/// with `job="node"` hold one copy of `"job"` and one of `"node"`.
pub struct SeriesStore {
    limits: SeriesLimits,
    shards: Box<[Mutex<Shard>]>,
    hasher: DefaultHashBuilder,
    interner: Mutex<HashSet<Arc<str>>>,
    /// Series held or reserved; the hard cap is checked against it before a series is created.
    series: AtomicUsize,
    /// The newest timestamp ingested: "now" for staleness, so the store needs no clock.
    newest_ms: AtomicI64,
    /// `newest_ms` at the last automatic sweep, so a flood of new series sweeps at most once per
    /// second of data time rather than once per sample.
    last_sweep_ms: AtomicI64,
    interned_bytes: AtomicUsize,
    dropped_series_total: AtomicU64,
    dropped_points_total: AtomicU64,
    evicted_series_total: AtomicU64,
}

const SHARDS: usize = 16;
const SWEEP_EVERY_MS: i64 = 1_000;

impl std::fmt::Debug for SeriesStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesStore")
            .field("limits", &self.limits)
            .field("stats", &self.stats())
            .finish()
    }
}

#[derive(Default)]
struct Shard {
    /// Indices into `slots`, keyed by the series hash.
    table: HashTable<u32>,
    slots: Vec<Option<Series>>,
    free: Vec<u32>,
    points: usize,
    label_bytes: usize,
}

struct Series {
    hash: u64,
    name: Arc<str>,
    /// Sorted by label name, no empty values.
    labels: Box<[(Arc<str>, Arc<str>)]>,
    ring: Ring,
}

impl Series {
    fn is(&self, name: &str, labels: &[(Cow<'_, str>, &str)]) -> bool {
        *self.name == *name
            && self.labels.len() == labels.len()
            && self
                .labels
                .iter()
                .zip(labels)
                .all(|((have_name, have_value), (name, value))| {
                    **have_name == **name && **have_value == **value
                })
    }

    fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|(label, _)| (**label).cmp(name))
            .ok()
            .map(|index| &*self.labels[index].1)
    }

    fn key(&self) -> SeriesKey {
        SeriesKey {
            name: self.name.to_string(),
            labels: self
                .labels
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        }
    }
}

/// A fixed-capacity ring of points. Timestamps are stored as u32 milliseconds after `base_ms`
/// (49 days of range) and values beside them, 12 bytes a point instead of 16.
struct Ring {
    base_ms: i64,
    last_ms: i64,
    /// Index of the oldest point.
    head: u32,
    len: u32,
    offsets: Box<[u32]>,
    values: Box<[f64]>,
}

impl Ring {
    fn new(capacity: usize, at_ms: i64) -> Self {
        Self {
            base_ms: at_ms,
            last_ms: i64::MIN,
            head: 0,
            len: 0,
            offsets: vec![0; capacity].into_boxed_slice(),
            values: vec![0.0; capacity].into_boxed_slice(),
        }
    }

    fn capacity(&self) -> usize {
        self.offsets.len()
    }

    fn last_value(&self) -> Option<f64> {
        (self.len > 0)
            .then(|| self.values[(self.head as usize + self.len as usize - 1) % self.capacity()])
    }

    /// Appends a point that is newer than the last; returns whether an old point was overwritten.
    fn push(&mut self, at_ms: i64, value: f64) -> bool {
        let capacity = self.capacity();
        if at_ms - self.base_ms > i64::from(u32::MAX) {
            self.rebase(at_ms);
        }
        let offset = (at_ms - self.base_ms) as u32;
        self.last_ms = at_ms;
        if (self.len as usize) < capacity {
            let index = (self.head as usize + self.len as usize) % capacity;
            self.offsets[index] = offset;
            self.values[index] = value;
            self.len += 1;
            false
        } else {
            let index = self.head as usize;
            self.offsets[index] = offset;
            self.values[index] = value;
            self.head = ((index + 1) % capacity) as u32;
            true
        }
    }

    /// Moves `base_ms` forward so that `at_ms` fits, dropping points that no longer would.
    fn rebase(&mut self, at_ms: i64) {
        let new_base = at_ms - i64::from(u32::MAX) / 2;
        let mut kept = Vec::with_capacity(self.len as usize);
        kept.extend(self.iter().filter(|&(at, _)| at >= new_base));
        self.base_ms = new_base;
        self.head = 0;
        self.len = 0;
        for (at, value) in kept {
            let index = self.len as usize;
            self.offsets[index] = (at - new_base) as u32;
            self.values[index] = value;
            self.len += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        let capacity = self.capacity();
        (0..self.len as usize).map(move |step| {
            let index = (self.head as usize + step) % capacity;
            (
                self.base_ms + i64::from(self.offsets[index]),
                self.values[index],
            )
        })
    }
}

impl SeriesStore {
    pub fn new(limits: SeriesLimits) -> Self {
        let limits = SeriesLimits {
            points_per_series: limits.points_per_series.max(1),
            ..limits
        };
        Self {
            limits,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: DefaultHashBuilder::default(),
            interner: Mutex::new(HashSet::new()),
            series: AtomicUsize::new(0),
            newest_ms: AtomicI64::new(i64::MIN),
            last_sweep_ms: AtomicI64::new(i64::MIN),
            interned_bytes: AtomicUsize::new(0),
            dropped_series_total: AtomicU64::new(0),
            dropped_points_total: AtomicU64::new(0),
            evicted_series_total: AtomicU64::new(0),
        }
    }

    pub fn limits(&self) -> &SeriesLimits {
        &self.limits
    }

    /// Ingests one point of the series `key`.
    pub fn ingest(&self, key: &SeriesKey, at_ms: UnixMs, value: f64) -> IngestOutcome {
        self.ingest_labels(
            &key.name,
            key.labels
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
            at_ms,
            value,
        )
    }

    /// Ingests one point of the series `name{labels}`; labels may come in any order, and a label
    /// with an empty value is the same as no label, as in Prometheus.
    pub fn ingest_labels<'a>(
        &self,
        name: &str,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
        at_ms: UnixMs,
        value: f64,
    ) -> IngestOutcome {
        let mut buffer: Vec<(Cow<'a, str>, &'a str)> = labels
            .into_iter()
            .map(|(name, value)| (Cow::Borrowed(name), value))
            .collect();
        let outcome = self.ingest_buffer(name, &mut buffer, at_ms, value);
        self.count_outcome(outcome);
        outcome
    }

    /// Ingests a scrape. `extra_labels` (e.g. `target="node-1"`) are added to every sample; a
    /// scraped label of the same name is kept as `exported_<name>`, as Prometheus does. Samples
    /// without their own timestamp get `default_at_ms` (the scrape time).
    pub fn ingest_batch(
        &self,
        batch: &Batch,
        extra_labels: &[(&str, &str)],
        default_at_ms: UnixMs,
    ) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        // Reused for every sample, so the batch costs one allocation, not one per sample.
        let mut buffer: Vec<(Cow<'_, str>, &str)> = Vec::with_capacity(16);
        for (name, labels, at_ms, value) in batch.iter() {
            buffer.clear();
            for (label, label_value) in labels {
                if extra_labels.iter().any(|(extra, _)| *extra == label) {
                    buffer.push((Cow::Owned(format!("exported_{label}")), label_value));
                } else {
                    buffer.push((Cow::Borrowed(label), label_value));
                }
            }
            buffer.extend(
                extra_labels
                    .iter()
                    .map(|&(label, label_value)| (Cow::Borrowed(label), label_value)),
            );
            let result =
                self.ingest_buffer(name, &mut buffer, at_ms.unwrap_or(default_at_ms), value);
            outcome.count(result);
        }
        self.dropped_points_total
            .fetch_add(outcome.dropped() as u64, Ordering::Relaxed);
        self.dropped_series_total
            .fetch_add(outcome.dropped_series_limit as u64, Ordering::Relaxed);
        outcome
    }

    fn count_outcome(&self, outcome: IngestOutcome) {
        match outcome {
            IngestOutcome::DroppedSeriesLimit => {
                self.dropped_series_total.fetch_add(1, Ordering::Relaxed);
                self.dropped_points_total.fetch_add(1, Ordering::Relaxed);
            }
            IngestOutcome::DroppedOutOfOrder | IngestOutcome::DroppedInvalid => {
                self.dropped_points_total.fetch_add(1, Ordering::Relaxed);
            }
            IngestOutcome::Appended | IngestOutcome::NewSeries | IngestOutcome::Duplicate => {}
        }
    }

    /// Sorts and checks the labels in `buffer`, then stores the point.
    fn ingest_buffer(
        &self,
        name: &str,
        buffer: &mut Vec<(Cow<'_, str>, &str)>,
        at_ms: UnixMs,
        value: f64,
    ) -> IngestOutcome {
        buffer.retain(|(_, label_value)| !label_value.is_empty());
        buffer.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if buffer.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return IngestOutcome::DroppedInvalid;
        }
        if name.is_empty() || buffer.len() > self.limits.max_labels_per_series {
            return IngestOutcome::DroppedInvalid;
        }
        self.ingest_sorted(name, buffer, at_ms, value)
    }

    fn series_hash(&self, name: &str, labels: &[(Cow<'_, str>, &str)]) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        hasher.write(name.as_bytes());
        for (label, value) in labels {
            // 0xff never occurs in UTF-8, so it separates strings unambiguously.
            hasher.write_u8(0xff);
            hasher.write(label.as_bytes());
            hasher.write_u8(0xff);
            hasher.write(value.as_bytes());
        }
        hasher.finish()
    }

    fn shard(&self, hash: u64) -> MutexGuard<'_, Shard> {
        // The table uses the low bits of the hash; the shard is picked by the high ones.
        let index = (hash >> 56) as usize % SHARDS;
        lock(&self.shards[index])
    }

    fn ingest_sorted(
        &self,
        name: &str,
        labels: &[(Cow<'_, str>, &str)],
        at_ms: UnixMs,
        value: f64,
    ) -> IngestOutcome {
        self.newest_ms.fetch_max(at_ms, Ordering::Relaxed);
        let hash = self.series_hash(name, labels);
        if let Some(outcome) = self.try_ingest(hash, name, labels, at_ms, value) {
            return outcome;
        }
        // Full. Make room by evicting stale series, at most once per second of data time, and
        // without holding a shard lock: the sweep takes every shard in turn.
        if self.sweep_due()
            && let Some(outcome) = self.try_ingest(hash, name, labels, at_ms, value)
        {
            return outcome;
        }
        IngestOutcome::DroppedSeriesLimit
    }

    /// Appends to the series or creates it; `None` if it is new and the store is full.
    fn try_ingest(
        &self,
        hash: u64,
        name: &str,
        labels: &[(Cow<'_, str>, &str)],
        at_ms: UnixMs,
        value: f64,
    ) -> Option<IngestOutcome> {
        let mut shard = self.shard(hash);
        let shard = &mut *shard;
        if let Some(&index) = shard.table.find(hash, |&index| {
            shard.slots[index as usize]
                .as_ref()
                .is_some_and(|series| series.is(name, labels))
        }) {
            let series = shard.slots[index as usize]
                .as_mut()
                .expect("the table only holds live slots");
            let ring = &mut series.ring;
            if at_ms < ring.last_ms {
                return Some(IngestOutcome::DroppedOutOfOrder);
            }
            if at_ms == ring.last_ms {
                let same = ring
                    .last_value()
                    .is_some_and(|last| last.to_bits() == value.to_bits());
                return Some(if same {
                    IngestOutcome::Duplicate
                } else {
                    IngestOutcome::DroppedOutOfOrder
                });
            }
            if !ring.push(at_ms, value) {
                shard.points += 1;
            }
            return Some(IngestOutcome::Appended);
        }
        if !self.reserve_series() {
            return None;
        }
        let series = self.new_series(hash, name, labels, at_ms, value);
        shard.points += 1;
        shard.label_bytes += std::mem::size_of_val(&*series.labels);
        let index = match shard.free.pop() {
            Some(index) => {
                shard.slots[index as usize] = Some(series);
                index
            }
            None => {
                shard.slots.push(Some(series));
                (shard.slots.len() - 1) as u32
            }
        };
        let slots = &shard.slots;
        shard.table.insert_unique(hash, index, |&index| {
            slots[index as usize]
                .as_ref()
                .map_or(0, |series| series.hash)
        });
        Some(IngestOutcome::NewSeries)
    }

    fn reserve_series(&self) -> bool {
        self.series
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                (count < self.limits.max_series).then_some(count + 1)
            })
            .is_ok()
    }

    /// Claims the next automatic sweep and runs it; false if one ran less than a second ago.
    fn sweep_due(&self) -> bool {
        let now = self.newest_ms.load(Ordering::Relaxed);
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        if last != i64::MIN && now < last.saturating_add(SWEEP_EVERY_MS) {
            return false;
        }
        if self
            .last_sweep_ms
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        self.evict_stale(now);
        true
    }

    fn new_series(
        &self,
        hash: u64,
        name: &str,
        labels: &[(Cow<'_, str>, &str)],
        at_ms: UnixMs,
        value: f64,
    ) -> Series {
        let mut interner = lock(&self.interner);
        let mut intern = |text: &str| -> Arc<str> {
            if let Some(existing) = interner.get(text) {
                return Arc::clone(existing);
            }
            let interned: Arc<str> = Arc::from(text);
            self.interned_bytes
                .fetch_add(interned_cost(text), Ordering::Relaxed);
            interner.insert(Arc::clone(&interned));
            interned
        };
        let name = intern(name);
        let labels = labels
            .iter()
            .map(|(label, value)| (intern(label), intern(value)))
            .collect();
        let mut ring = Ring::new(self.limits.points_per_series, at_ms);
        ring.push(at_ms, value);
        Series {
            hash,
            name,
            labels,
            ring,
        }
    }

    /// The points of every selected series at or after `since_ms` (all kept points if `None`),
    /// oldest first; series sorted by name, then labels. Series with no point in range are left out.
    pub fn query(&self, selector: &Selector, since_ms: Option<UnixMs>) -> Vec<SeriesPoints> {
        let since = since_ms.unwrap_or(i64::MIN);
        let mut found = Vec::new();
        self.for_each_selected(selector, |series| {
            if series.ring.last_ms < since {
                return;
            }
            let points: Vec<(UnixMs, f64)> =
                series.ring.iter().filter(|&(at, _)| at >= since).collect();
            let key = series.key();
            found.push(SeriesPoints {
                name: key.name,
                labels: key.labels,
                points,
            });
        });
        found.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
        found
    }

    /// The newest point of every selected series, sorted by name, then labels.
    pub fn latest(&self, selector: &Selector) -> Vec<LatestPoint> {
        let mut found = Vec::new();
        self.for_each_selected(selector, |series| {
            if let Some(value) = series.ring.last_value() {
                found.push(LatestPoint {
                    key: series.key(),
                    at_ms: series.ring.last_ms,
                    value,
                });
            }
        });
        found.sort_by(|a, b| a.key.cmp(&b.key));
        found
    }

    fn for_each_selected(&self, selector: &Selector, mut visit: impl FnMut(&Series)) {
        for shard in self.shards.iter() {
            let shard = lock(shard);
            for series in shard.slots.iter().flatten() {
                if selector.matches_with(&series.name, |label| series.label(label)) {
                    visit(series);
                }
            }
        }
    }

    /// Removes every series with no point since `now_ms - stale_after_ms`; returns how many.
    /// The store also does this on its own when it is full and a new series arrives; the engine
    /// may call it every minute or so to return memory sooner.
    pub fn evict_stale(&self, now_ms: UnixMs) -> usize {
        let cutoff = now_ms.saturating_sub(self.limits.stale_after_ms);
        let mut evicted = 0;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let shard = &mut *shard;
            for index in 0..shard.slots.len() {
                let stale = shard.slots[index]
                    .as_ref()
                    .is_some_and(|series| series.ring.last_ms < cutoff);
                if !stale {
                    continue;
                }
                let series = shard.slots[index].take().expect("checked above");
                if let Ok(entry) = shard
                    .table
                    .find_entry(series.hash, |&candidate| candidate as usize == index)
                {
                    entry.remove();
                }
                shard.free.push(index as u32);
                shard.points -= series.ring.len as usize;
                shard.label_bytes -= std::mem::size_of_val(&*series.labels);
                evicted += 1;
            }
        }
        if evicted > 0 {
            self.series.fetch_sub(evicted, Ordering::AcqRel);
            self.evicted_series_total
                .fetch_add(evicted as u64, Ordering::Relaxed);
            // Strings only the interner still holds belonged to evicted series.
            let mut interner = lock(&self.interner);
            let mut freed = 0;
            interner.retain(|text| {
                let keep = Arc::strong_count(text) > 1;
                if !keep {
                    freed += interned_cost(text);
                }
                keep
            });
            self.interned_bytes.fetch_sub(freed, Ordering::Relaxed);
        }
        evicted
    }

    pub fn stats(&self) -> StoreStats {
        let mut series = 0;
        let mut points = 0;
        let mut bytes = 0;
        let ring_bytes = self.limits.points_per_series
            * (std::mem::size_of::<u32>() + std::mem::size_of::<f64>());
        for shard in self.shards.iter() {
            let shard = lock(shard);
            let live = shard.slots.len() - shard.free.len();
            series += live;
            points += shard.points;
            bytes += shard.slots.capacity() * std::mem::size_of::<Option<Series>>()
                + shard.table.capacity() * (std::mem::size_of::<u32>() + 1)
                + shard.free.capacity() * std::mem::size_of::<u32>()
                + live * ring_bytes
                + shard.label_bytes;
        }
        bytes += self.interned_bytes.load(Ordering::Relaxed);
        StoreStats {
            series,
            points,
            dropped_series_total: self.dropped_series_total.load(Ordering::Relaxed),
            dropped_points_total: self.dropped_points_total.load(Ordering::Relaxed),
            evicted_series_total: self.evicted_series_total.load(Ordering::Relaxed),
            approx_bytes: bytes,
        }
    }
}

/// Heap bytes of one interned string: the Arc's two counters, the text, and its set entry.
fn interned_cost(text: &str) -> usize {
    2 * std::mem::size_of::<usize>() + text.len() + std::mem::size_of::<Arc<str>>() + 1
}

/// Locks a mutex, going on after a panic elsewhere: the store's invariants hold between
/// statements, so a poisoned shard is still consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(max_series: usize, points: usize) -> SeriesStore {
        SeriesStore::new(SeriesLimits {
            max_series,
            points_per_series: points,
            stale_after_ms: 60_000,
            ..SeriesLimits::default()
        })
    }

    fn sel(text: &str) -> Selector {
        Selector::parse(text).unwrap()
    }

    #[test]
    fn keeps_only_the_newest_points_of_each_series() {
        let store = store(10, 3);
        let key = SeriesKey::new("peg_price").with_label("target", "core-price");
        for at in 1..=5 {
            store.ingest(&key, at * 1000, at as f64);
        }
        let found = store.query(&sel("peg_price"), None);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].points, [(3000, 3.0), (4000, 4.0), (5000, 5.0)]);
        assert_eq!(
            store.query(&sel("peg_price"), Some(4000))[0].points,
            [(4000, 4.0), (5000, 5.0)]
        );
        assert_eq!(store.stats().points, 3);
    }

    #[test]
    fn label_order_does_not_make_a_new_series_and_empty_labels_are_absent() {
        let store = store(10, 8);
        assert_eq!(
            store.ingest_labels("x", [("a", "1"), ("b", "2")], 1, 1.0),
            IngestOutcome::NewSeries
        );
        assert_eq!(
            store.ingest_labels("x", [("b", "2"), ("a", "1"), ("c", "")], 2, 2.0),
            IngestOutcome::Appended
        );
        assert_eq!(store.stats().series, 1);
        assert_eq!(
            store.ingest_labels("x", [("a", "1"), ("a", "2")], 3, 1.0),
            IngestOutcome::DroppedInvalid
        );
    }

    #[test]
    fn out_of_order_and_duplicate_points() {
        let store = store(10, 8);
        let key = SeriesKey::new("x");
        store.ingest(&key, 2000, 1.0);
        assert_eq!(
            store.ingest(&key, 1000, 1.0),
            IngestOutcome::DroppedOutOfOrder
        );
        assert_eq!(store.ingest(&key, 2000, 1.0), IngestOutcome::Duplicate);
        assert_eq!(
            store.ingest(&key, 2000, 5.0),
            IngestOutcome::DroppedOutOfOrder
        );
        assert_eq!(store.stats().dropped_points_total, 2);
        assert_eq!(store.query(&sel("x"), None)[0].points, [(2000, 1.0)]);
    }

    #[test]
    fn new_series_beyond_the_limit_are_dropped_and_counted() {
        let store = store(2, 4);
        for (index, name) in ["a", "b", "c", "d"].iter().enumerate() {
            let outcome = store.ingest(&SeriesKey::new(*name), 1000, index as f64);
            assert_eq!(
                outcome,
                if index < 2 {
                    IngestOutcome::NewSeries
                } else {
                    IngestOutcome::DroppedSeriesLimit
                }
            );
        }
        // Existing series still take points.
        assert_eq!(
            store.ingest(&SeriesKey::new("a"), 2000, 1.0),
            IngestOutcome::Appended
        );
        let stats = store.stats();
        assert_eq!(
            (
                stats.series,
                stats.dropped_series_total,
                stats.dropped_points_total
            ),
            (2, 2, 2)
        );
    }

    #[test]
    fn stale_series_make_room_for_new_ones() {
        let store = store(2, 4);
        store.ingest(&SeriesKey::new("old"), 0, 1.0);
        store.ingest(&SeriesKey::new("live"), 0, 1.0);
        store.ingest(&SeriesKey::new("live"), 100_000, 1.0);
        // "old" has had no point for 100 s, more than the 60 s staleness.
        assert_eq!(
            store.ingest(&SeriesKey::new("new"), 100_000, 1.0),
            IngestOutcome::NewSeries
        );
        assert!(store.query(&sel("old"), None).is_empty());
        assert_eq!(store.query(&sel("live"), None).len(), 1);
        assert_eq!(store.stats().evicted_series_total, 1);
    }

    #[test]
    fn evict_stale_frees_interned_strings() {
        let store = store(100, 4);
        store.ingest_labels("gone", [("unique", "value-only-here")], 0, 1.0);
        store.ingest_labels("kept", [("job", "node")], 100_000, 1.0);
        let before = store.stats().approx_bytes;
        assert_eq!(store.evict_stale(100_000), 1);
        assert!(store.stats().approx_bytes < before);
        assert_eq!(lock(&store.interner).len(), 3, "kept, job, node");
    }

    #[test]
    fn batch_adds_target_labels_and_renames_clashing_ones() {
        let store = store(10, 4);
        let mut batch = Batch::new();
        batch.push("up", [("target", "inner"), ("job", "node")], None, 1.0);
        batch.push("temp", [], Some(500), 21.5);
        let outcome = store.ingest_batch(&batch, &[("target", "node-1")], 1000);
        assert_eq!(outcome.new_series, 2);
        let up = store.latest(&sel(r#"up{target="node-1"}"#));
        assert_eq!(up.len(), 1);
        assert_eq!(up[0].key.label("exported_target"), Some("inner"));
        assert_eq!(up[0].at_ms, 1000);
        let temp = store.latest(&sel("temp"));
        assert_eq!(
            (temp[0].at_ms, temp[0].value),
            (500, 21.5),
            "a sample's own timestamp wins"
        );
    }

    #[test]
    fn query_filters_and_sorts() {
        let store = store(10, 4);
        for module in ["staking", "bridge", "escrow"] {
            store.ingest_labels("core_module_paused", [("module", module)], 1000, 0.0);
        }
        store.ingest_labels("core_peers", [], 1000, 4.0);
        let found = store.query(
            &sel(r#"core_module_paused{module=~"bridge|staking"}"#),
            None,
        );
        let modules: Vec<_> = found
            .iter()
            .map(|series| series.labels["module"].as_str())
            .collect();
        assert_eq!(modules, ["bridge", "staking"]);
        let json = serde_json::to_value(&found[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": "core_module_paused", "labels": {"module": "bridge"}, "points": [[1000, 0.0]]})
        );
    }

    #[test]
    fn ring_rebases_after_49_days() {
        let store = store(10, 4);
        let key = SeriesKey::new("x");
        store.ingest(&key, 0, 1.0);
        store.ingest(&key, 1000, 2.0);
        let far = 60 * 24 * 3600 * 1000;
        store.ingest(&key, far, 3.0);
        store.ingest(&key, far + 1000, 4.0);
        assert_eq!(
            store.query(&sel("x"), None)[0].points,
            [(far, 3.0), (far + 1000, 4.0)]
        );
    }

    #[test]
    fn concurrent_writers_and_readers() {
        let store = Arc::new(store(10_000, 8));
        let writers: Vec<_> = (0..4)
            .map(|thread| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    for at in 0..50 {
                        for series in 0..100 {
                            let value = format!("{thread}-{series}");
                            store.ingest_labels(
                                "x",
                                [("id", value.as_str())],
                                at * 1000,
                                at as f64,
                            );
                        }
                    }
                })
            })
            .collect();
        let reader = {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let _ = store.query(&Selector::parse("x").unwrap(), None);
                }
            })
        };
        for writer in writers {
            writer.join().unwrap();
        }
        reader.join().unwrap();
        let stats = store.stats();
        assert_eq!(
            (stats.series, stats.points, stats.dropped_points_total),
            (400, 400 * 8, 0)
        );
    }
}
