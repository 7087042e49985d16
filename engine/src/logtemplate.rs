//! Log template mining: turns raw log lines into a short list of templates with counts.
//!
//! A Drain-style online miner (He et al., "Drain: An Online Log Parsing Approach with Fixed Depth
//! Tree", ICWS 2017). Each line is tokenised with its variables masked ([`tokens`]), routed by
//! its token count and first token, and merged into the most similar template of that route
//! when enough constant tokens agree; differing positions become `<*>`. Start with
//! [`TemplateMiner::feed`], then read [`TemplateMiner::templates`]. [`new_since`] lists the
//! templates first seen after an onset, which root-cause analysis uses.
//!
//! Memory is bounded: templates are capped (the rarest tenth is dropped, and counted, when the
//! cap is hit), as are tokens per line, example length and time buckets per template.
//! Lines that start with whitespace (stack frames, wrapped messages) are folded into the entry
//! above them instead of becoming templates of their own.

mod tokens;

use crate::series::Series;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
pub use tokens::{WILDCARD, tokenize};

/// Tuning of a [`TemplateMiner`]. The defaults suit pod and CloudWatch application logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MinerConfig {
    /// Share of the informative positions (not a wildcard on both sides) where a line must
    /// equal a template to join it. Leaving masked positions out keeps lines that are mostly
    /// variables (klog headers, access logs) mergeable; 0.6 rather than Drain3's 0.4 then asks
    /// for more than half of the remaining words to agree, so "cache warmed in <*>" and
    /// "queue drained in <*>" stay two templates.
    pub similarity_threshold: f64,
    /// Live templates kept; hitting the cap drops the rarest tenth.
    pub max_templates: usize,
    /// Tokens of a line considered; the rest of a very long line is ignored.
    pub max_tokens: usize,
    /// Characters kept of each template's example line.
    pub max_example_chars: usize,
    /// Width of the time buckets behind [`TemplateMiner::count_series`], in ms.
    pub bucket_ms: i64,
    /// Buckets kept per template; the oldest go first.
    pub max_buckets: usize,
    /// Fold lines that start with whitespace into the entry above them.
    pub fold_continuations: bool,
}

impl Default for MinerConfig {
    fn default() -> Self {
        MinerConfig {
            similarity_threshold: 0.6,
            max_templates: 1000,
            max_tokens: 80,
            max_example_chars: 300,
            bucket_ms: 60_000,
            max_buckets: 1440,
            fold_continuations: true,
        }
    }
}

/// A [`MinerConfig`] value that cannot work.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// `similarity_threshold` is NaN or outside [0, 1].
    SimilarityOutOfRange(f64),
    /// A size or width that must be at least 1 is 0 or negative; names the field.
    NotPositive(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::SimilarityOutOfRange(v) => {
                write!(f, "similarity_threshold must be within [0, 1], got {v}")
            }
            ConfigError::NotPositive(field) => write!(f, "{field} must be at least 1"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// One mined template, as tools show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Stable for the life of the miner; never reused after a template is dropped.
    pub id: u64,
    /// Tokens joined by single spaces, variables as `<*>`.
    pub template: String,
    /// Lines that matched (continuation lines not counted).
    pub count: u64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// The first line that created the template, truncated to `max_example_chars`.
    pub example: String,
}

/// What the miner has seen, including what it left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MinerStats {
    /// Every call to [`TemplateMiner::feed`].
    pub lines: u64,
    pub blank_lines: u64,
    /// Lines folded into the entry above them.
    pub continuation_lines: u64,
    pub live_templates: usize,
    /// Templates dropped to stay under `max_templates`, and the lines they had counted.
    pub dropped_templates: u64,
    pub dropped_lines: u64,
}

/// The online miner. Feed lines in any order; results do not depend on wall-clock time.
#[derive(Debug)]
pub struct TemplateMiner {
    config: MinerConfig,
    slots: Vec<Option<Cluster>>,
    free: Vec<usize>,
    routes: HashMap<u64, Vec<usize>>,
    next_id: u64,
    last_slot: Option<usize>,
    stats: MinerStats,
}

#[derive(Debug)]
struct Cluster {
    id: u64,
    route: u64,
    tokens: Vec<Box<str>>,
    count: u64,
    first_seen: i64,
    last_seen: i64,
    example: String,
    /// (bucket start ms, lines), sorted by start.
    buckets: VecDeque<(i64, u64)>,
}

impl Default for TemplateMiner {
    fn default() -> Self {
        Self::build(MinerConfig::default())
    }
}

impl TemplateMiner {
    /// A miner with `config`, rejected if a value cannot work.
    pub fn new(config: MinerConfig) -> Result<Self, ConfigError> {
        let t = config.similarity_threshold;
        if !(0.0..=1.0).contains(&t) {
            return Err(ConfigError::SimilarityOutOfRange(t));
        }
        let sizes = [
            ("max_templates", config.max_templates as i64),
            ("max_tokens", config.max_tokens as i64),
            ("bucket_ms", config.bucket_ms),
            ("max_buckets", config.max_buckets as i64),
        ];
        if let Some((field, _)) = sizes.iter().find(|(_, v)| *v < 1) {
            return Err(ConfigError::NotPositive(field));
        }
        Ok(Self::build(config))
    }

    fn build(config: MinerConfig) -> Self {
        TemplateMiner {
            config,
            slots: Vec::new(),
            free: Vec::new(),
            routes: HashMap::new(),
            next_id: 1,
            last_slot: None,
            stats: MinerStats::default(),
        }
    }

    /// Adds one line seen at `timestamp_ms`; returns the id of the template it now counts
    /// towards (for a continuation line, the entry above it), or `None` for a blank line.
    pub fn feed(&mut self, timestamp_ms: i64, line: &str) -> Option<u64> {
        self.stats.lines += 1;
        if line.trim().is_empty() {
            self.stats.blank_lines += 1;
            return None;
        }
        if let Some(slot) = self.last_slot.filter(|_| self.is_continuation(line)) {
            self.stats.continuation_lines += 1;
            return self.slots[slot].as_ref().map(|c| c.id);
        }
        let tokens = tokenize(line, self.config.max_tokens);
        let route = route_of(&tokens);
        let slot = match self.best_match(route, &tokens) {
            Some(slot) => slot,
            None => self.insert(route, &tokens, line),
        };
        let (bucket_ms, max_buckets) = (self.config.bucket_ms, self.config.max_buckets);
        let cluster = self.slots[slot].as_mut()?;
        cluster.absorb(&tokens);
        cluster.record(timestamp_ms, bucket_ms, max_buckets);
        self.last_slot = Some(slot);
        Some(cluster.id)
    }

    fn is_continuation(&self, line: &str) -> bool {
        self.config.fold_continuations && line.starts_with([' ', '\t'])
    }

    /// The most similar template on the route, if it is similar enough (Drain's fast match).
    fn best_match(&self, route: u64, tokens: &[Cow<'_, str>]) -> Option<usize> {
        let mut best: Option<(usize, f64, usize)> = None;
        for &slot in self.routes.get(&route)? {
            let Some(cluster) = self.slots[slot].as_ref() else {
                continue;
            };
            if cluster.tokens.len() != tokens.len() {
                continue;
            }
            if cluster.tokens.iter().zip(tokens).all(|(a, b)| **a == **b) {
                return Some(slot);
            }
            let (sim, wildcards) = similarity(&cluster.tokens, tokens);
            let better = best.is_none_or(|(_, s, w)| sim > s || (sim == s && wildcards > w));
            if better {
                best = Some((slot, sim, wildcards));
            }
        }
        best.filter(|&(_, sim, _)| sim >= self.config.similarity_threshold)
            .map(|(slot, _, _)| slot)
    }

    fn insert(&mut self, route: u64, tokens: &[Cow<'_, str>], line: &str) -> usize {
        if self.live() >= self.config.max_templates {
            self.drop_rarest();
        }
        let cluster = Cluster {
            id: self.next_id,
            route,
            tokens: tokens.iter().map(|t| Box::from(t.as_ref())).collect(),
            count: 0,
            first_seen: i64::MAX,
            last_seen: i64::MIN,
            example: clip(line.trim_end(), self.config.max_example_chars),
            buckets: VecDeque::new(),
        };
        self.next_id += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(cluster);
                slot
            }
            None => {
                self.slots.push(Some(cluster));
                self.slots.len() - 1
            }
        };
        self.routes.entry(route).or_default().push(slot);
        slot
    }

    fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Drops the rarest tenth of the templates (ties: least recently seen first), so the cap
    /// costs one sort per `max_templates / 10` new templates rather than a scan per line.
    fn drop_rarest(&mut self) {
        let mut live: Vec<(u64, i64, usize)> = (self.slots.iter().enumerate())
            .filter_map(|(slot, c)| c.as_ref().map(|c| (c.count, c.last_seen, slot)))
            .collect();
        live.sort_unstable();
        let n = live.len().div_ceil(10).max(1);
        for &(_, _, slot) in live.iter().take(n) {
            self.remove(slot);
        }
    }

    fn remove(&mut self, slot: usize) {
        let Some(cluster) = self.slots[slot].take() else {
            return;
        };
        self.stats.dropped_templates += 1;
        self.stats.dropped_lines += cluster.count;
        if let Some(route) = self.routes.get_mut(&cluster.route) {
            route.retain(|&s| s != slot);
            if route.is_empty() {
                self.routes.remove(&cluster.route);
            }
        }
        if self.last_slot == Some(slot) {
            self.last_slot = None;
        }
        self.free.push(slot);
    }

    /// All live templates, most frequent first (ties: earliest first seen, then text).
    pub fn templates(&self) -> Vec<Template> {
        let mut out: Vec<Template> = self.clusters().map(Cluster::to_template).collect();
        out.sort_by(|a, b| {
            (b.count.cmp(&a.count))
                .then(a.first_seen_ms.cmp(&b.first_seen_ms))
                .then_with(|| a.template.cmp(&b.template))
        });
        out
    }

    fn clusters(&self) -> impl Iterator<Item = &Cluster> {
        self.slots.iter().flatten()
    }

    pub fn stats(&self) -> MinerStats {
        MinerStats {
            live_templates: self.live(),
            ..self.stats.clone()
        }
    }

    /// Plain-language caveats for the model: what the bounds left out. Empty when nothing was.
    pub fn notes(&self) -> Vec<String> {
        let s = &self.stats;
        let mut notes = Vec::new();
        if s.dropped_templates > 0 {
            notes.push(format!(
                "{} rare templates ({} lines) were dropped to stay under the cap of {}; a dropped \
                 template that came back counts only from its return",
                s.dropped_templates, s.dropped_lines, self.config.max_templates
            ));
        }
        if s.continuation_lines > 0 {
            notes.push(format!(
                "{} indented continuation lines (stack frames, wrapped text) were folded into \
                 the entry above them",
                s.continuation_lines
            ));
        }
        notes
    }

    /// Lines per bucket of template `id` over [`start_ms`, `end_ms`), zero where none matched,
    /// as a [`Series`] named `log_template_count` labelled with the template id and text.
    /// `None` for an unknown id or an empty or oversized range (more than 100,000 buckets).
    pub fn count_series(&self, id: u64, start_ms: i64, end_ms: i64) -> Option<Series> {
        let cluster = self.clusters().find(|c| c.id == id)?;
        let step = self.config.bucket_ms;
        let first = bucket_start(start_ms, step);
        let n = end_ms.checked_sub(first)?.checked_add(step - 1)? / step;
        if !(1..=100_000).contains(&n) {
            return None;
        }
        let timestamps: Vec<i64> = (0..n)
            .map(|k| first.saturating_add(k.saturating_mul(step)))
            .collect();
        let values = timestamps.iter().map(|&t| cluster.lines_in(t) as f64);
        let series = Series::new("log_template_count", timestamps.clone(), values.collect());
        Some(
            series
                .with_label("template_id", id.to_string())
                .with_label("template", cluster.text()),
        )
    }
}

impl Cluster {
    /// Generalises the template where the new line differs.
    fn absorb(&mut self, tokens: &[Cow<'_, str>]) {
        for (have, new) in self.tokens.iter_mut().zip(tokens) {
            if **have != **new && &**have != WILDCARD {
                *have = Box::from(WILDCARD);
            }
        }
    }

    fn record(&mut self, t: i64, bucket_ms: i64, max_buckets: usize) {
        self.count += 1;
        self.first_seen = self.first_seen.min(t);
        self.last_seen = self.last_seen.max(t);
        let start = bucket_start(t, bucket_ms);
        match self.buckets.back_mut() {
            Some((last, n)) if *last == start => *n += 1,
            Some((last, _)) if *last > start => self.record_late(start),
            _ => self.buckets.push_back((start, 1)),
        }
        while self.buckets.len() > max_buckets {
            self.buckets.pop_front();
        }
    }

    fn record_late(&mut self, start: i64) {
        match self.buckets.binary_search_by_key(&start, |&(s, _)| s) {
            Ok(i) => self.buckets[i].1 += 1,
            Err(i) => self.buckets.insert(i, (start, 1)),
        }
    }

    fn lines_in(&self, start: i64) -> u64 {
        (self.buckets.binary_search_by_key(&start, |&(s, _)| s)).map_or(0, |i| self.buckets[i].1)
    }

    fn text(&self) -> String {
        self.tokens.join(" ")
    }

    fn to_template(&self) -> Template {
        Template {
            id: self.id,
            template: self.text(),
            count: self.count,
            first_seen_ms: self.first_seen,
            last_seen_ms: self.last_seen,
            example: self.example.clone(),
        }
    }
}

/// Templates first seen at or after `onset_ms`, most frequent first: the log lines that are
/// new since a change, which RCA weighs as evidence. A template dropped by the cap and seen
/// again counts as new, so check [`MinerStats::dropped_templates`] before relying on absence.
pub fn new_since(templates: &[Template], onset_ms: i64) -> Vec<&Template> {
    let mut out: Vec<&Template> = templates
        .iter()
        .filter(|t| t.first_seen_ms >= onset_ms)
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.id.cmp(&b.id)));
    out
}

/// Share of informative positions (not a wildcard in both) where template and line agree,
/// and the template's wildcard count (Drain prefers the more general template on a tie).
fn similarity(template: &[Box<str>], tokens: &[Cow<'_, str>]) -> (f64, usize) {
    let (mut same, mut informative, mut wildcards) = (0, 0, 0);
    for (have, new) in template.iter().zip(tokens) {
        let wild = &**have == WILDCARD;
        wildcards += usize::from(wild);
        if wild && **new == *WILDCARD {
            continue;
        }
        informative += 1;
        same += usize::from(**have == **new);
    }
    let share = if informative == 0 {
        1.0
    } else {
        same as f64 / informative as f64
    };
    (share, wildcards)
}

/// Drain's fixed-depth tree as a hash: token count plus the first token, where a token with a
/// digit routes as a wildcard so that ids in leading position do not split routes. One token
/// (tree depth 3) rather than Drain3's two: a variable word in second place ("user alice
/// logged in") would otherwise split one event into a template per value.
fn route_of(tokens: &[Cow<'_, str>]) -> u64 {
    let mut h = DefaultHasher::new();
    tokens.len().hash(&mut h);
    for token in tokens.iter().take(1) {
        let routed = if token.bytes().any(|b| b.is_ascii_digit()) {
            WILDCARD
        } else {
            token.as_ref()
        };
        routed.hash(&mut h);
    }
    h.finish()
}

fn bucket_start(t: i64, step: i64) -> i64 {
    t.saturating_sub(t.rem_euclid(step))
}

/// `text` cut to `max` characters (on a character boundary), with `…` when cut. Diagnosis
/// evidence uses it too.
pub(crate) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests;
