//! Numenta Anomaly Benchmark scoring, implemented from the NAB rules (see the project's NAB notes):
//! probationary period, sigmoid-weighted early detection, distance-weighted false positives, one
//! threshold per profile chosen by exhaustive search over the distinct scores of the whole file set,
//! and normalisation so the null detector scores 0 and a perfect one 100.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use serde::Serialize;

/// The weights of one NAB application profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Profile {
    pub name: &'static str,
    pub tp_weight: f64,
    pub fp_weight: f64,
    pub fn_weight: f64,
}

impl Profile {
    pub const STANDARD: Profile = Profile {
        name: "standard",
        tp_weight: 1.0,
        fp_weight: 0.11,
        fn_weight: 1.0,
    };
    pub const LOW_FP: Profile = Profile {
        name: "reward_low_FP_rate",
        tp_weight: 1.0,
        fp_weight: 0.22,
        fn_weight: 1.0,
    };
    pub const LOW_FN: Profile = Profile {
        name: "reward_low_FN_rate",
        tp_weight: 1.0,
        fp_weight: 0.11,
        fn_weight: 2.0,
    };
    pub const ALL: [Profile; 3] = [Profile::STANDARD, Profile::LOW_FP, Profile::LOW_FN];
}

/// One detector output file, reduced to what scoring needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredFile {
    /// Path relative to the data folder, e.g. `realKnownCause/nyc_taxi.csv`.
    pub name: String,
    pub scores: Vec<f64>,
    /// Anomaly windows as inclusive row ranges `(first, last)`, in order, not overlapping.
    pub windows: Vec<(usize, usize)>,
}

/// The result of one profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileScore {
    pub profile: &'static str,
    /// Normalised score: 0 = null detector, 100 = perfect.
    pub score: f64,
    /// The optimal threshold (rows with `anomaly_score >= threshold` are detections); `None` means
    /// detecting nothing was best.
    pub threshold: Option<f64>,
    pub true_positives: usize,
    pub false_negatives: usize,
    /// False-positive rows (after the probationary period).
    pub false_positives: usize,
}

/// NAB scores of a file set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NabReport {
    pub files: usize,
    pub rows: usize,
    pub windows: usize,
    pub profiles: Vec<ProfileScore>,
}

impl NabReport {
    /// The score of the named profile (`standard`, `reward_low_FP_rate`, `reward_low_FN_rate`).
    pub fn score(&self, profile: &str) -> Option<f64> {
        self.profiles
            .iter()
            .find(|p| p.profile == profile)
            .map(|p| p.score)
    }
}

/// Why scoring failed.
#[derive(Debug, thiserror::Error)]
pub enum NabError {
    #[error("{path}: cannot read")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid labels: {message}")]
    Labels { path: PathBuf, message: String },
    #[error("{path}:{line}: {message}")]
    Results {
        path: PathBuf,
        line: u64,
        message: String,
    },
    /// Replaying the data failed; the replay error names the file and line.
    #[error(transparent)]
    Replay(#[from] crate::replay::ReplayError),
}

impl model::HasKind for NabError {
    fn kind(&self) -> model::ErrorKind {
        match self {
            NabError::Io { .. } => model::ErrorKind::NotFound,
            NabError::Labels { .. } | NabError::Results { .. } => model::ErrorKind::InvalidInput,
            NabError::Replay(error) => model::HasKind::kind(error),
        }
    }
}

/// Scores the detector output under `results_dir` (one CSV per key of the labels file, at the same
/// relative path, with columns `timestamp` and `anomaly_score`) against NAB's `labels.json`.
pub fn score_results(results_dir: &Path, labels_json_path: &Path) -> Result<NabReport, NabError> {
    Ok(score_files(&load_results(results_dir, labels_json_path)?))
}

/// The whole benchmark in one call (what `vigil nab` runs): replays every CSV under `data_dir` into
/// `results_dir` with `config`, then scores the results against `labels_json_path` and validates the
/// thresholds leave-one-category-out.
pub fn run_benchmark(
    data_dir: &Path,
    labels_json_path: &Path,
    results_dir: &Path,
    config: &crate::replay::ReplayConfig,
    progress: &mut dyn FnMut(usize, usize, &Path),
) -> Result<(NabReport, Vec<HeldOutScore>), NabError> {
    crate::replay::replay_dir(data_dir, results_dir, config, progress)?;
    let files = load_results(results_dir, labels_json_path)?;
    Ok((score_files(&files), leave_one_category_out(&files)))
}

/// Reads the labels and every result file they name.
pub fn load_results(
    results_dir: &Path,
    labels_json_path: &Path,
) -> Result<Vec<ScoredFile>, NabError> {
    let labels_text = fs::read_to_string(labels_json_path).map_err(|source| NabError::Io {
        path: labels_json_path.to_owned(),
        source,
    })?;
    let labels: BTreeMap<String, Vec<(String, String)>> = serde_json::from_str(&labels_text)
        .map_err(|error| NabError::Labels {
            path: labels_json_path.to_owned(),
            message: error.to_string(),
        })?;
    let mut files = Vec::with_capacity(labels.len());
    for (name, windows) in labels {
        let path = results_dir.join(&name);
        let (timestamps, scores) = read_result_file(&path)?;
        let mut rows = Vec::with_capacity(windows.len());
        for (start, end) in &windows {
            let parse = |text: &str| {
                parse_naive(text).ok_or_else(|| NabError::Labels {
                    path: labels_json_path.to_owned(),
                    message: format!("{name}: bad timestamp {text:?}"),
                })
            };
            let (start, end) = (parse(start)?, parse(end)?);
            // The window opens at the first row at or after its start and runs while rows stay within
            // its end (rows are in stream order, which is not always time order).
            let Some(first) = timestamps.iter().position(|t| *t >= start) else {
                continue;
            };
            let mut last = first;
            while last + 1 < timestamps.len() && timestamps[last + 1] <= end {
                last += 1;
            }
            if timestamps[first] <= end {
                rows.push((first, last));
            }
        }
        files.push(ScoredFile {
            name,
            scores,
            windows: rows,
        });
    }
    Ok(files)
}

fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S%.f").ok()
}

fn read_result_file(path: &Path) -> Result<(Vec<NaiveDateTime>, Vec<f64>), NabError> {
    let bad = |line: u64, message: String| NabError::Results {
        path: path.to_owned(),
        line,
        message,
    };
    let text = fs::read_to_string(path).map_err(|source| NabError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| bad(1, error.to_string()))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(timestamp_column), Some(score_column)) =
        (column("timestamp"), column("anomaly_score"))
    else {
        return Err(bad(
            1,
            "expected columns \"timestamp\" and \"anomaly_score\"".to_owned(),
        ));
    };
    let (mut timestamps, mut scores) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let record = record
            .map_err(|error| bad(error.position().map_or(0, |p| p.line()), error.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let timestamp = record
            .get(timestamp_column)
            .and_then(parse_naive)
            .ok_or_else(|| bad(line, "bad timestamp".to_owned()))?;
        let score: f64 = record
            .get(score_column)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(line, "bad anomaly_score".to_owned()))?;
        if !score.is_finite() {
            return Err(bad(line, "anomaly_score is not finite".to_owned()));
        }
        timestamps.push(timestamp);
        scores.push(score);
    }
    Ok((timestamps, scores))
}

/// Scores of one held-out category at the thresholds chosen on all the other files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldOutScore {
    /// The category (first path component of the file names).
    pub category: String,
    pub windows: usize,
    /// Per profile, in [`Profile::ALL`] order: the held-out files' normalised score at the threshold
    /// optimised on the other categories (the raw false-positive cost if the category has no windows).
    pub scores: [f64; 3],
}

/// Leave-one-category-out validation: for each category, choose the thresholds on the other
/// categories and score the held-out one with them. This is how a detector's threshold is expected to
/// behave on data it has not seen.
pub fn leave_one_category_out(files: &[ScoredFile]) -> Vec<HeldOutScore> {
    let category_of =
        |file: &ScoredFile| file.name.split('/').next().unwrap_or_default().to_owned();
    let mut categories: Vec<String> = files.iter().map(category_of).collect();
    categories.sort();
    categories.dedup();
    categories
        .into_iter()
        .map(|category| {
            let (held_out, rest): (Vec<ScoredFile>, Vec<ScoredFile>) = files
                .iter()
                .cloned()
                .partition(|f| category_of(f) == category);
            let trained = score_files(&rest);
            let mut scores = [0.0; 3];
            for ((score, profile), chosen) in scores
                .iter_mut()
                .zip(Profile::ALL.iter())
                .zip(&trained.profiles)
            {
                *score = score_at_threshold(&held_out, profile, chosen.threshold);
            }
            HeldOutScore {
                category,
                windows: held_out.iter().map(|f| f.windows.len()).sum(),
                scores,
            }
        })
        .collect()
}

impl std::fmt::Display for NabReport {
    /// A small table: one line per profile.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} files, {} rows, {} windows",
            self.files, self.rows, self.windows
        )?;
        for p in &self.profiles {
            let threshold = p.threshold.map_or("none".to_owned(), |t| format!("{t:.6}"));
            writeln!(
                f,
                "{:<20} {:6.2}  threshold {threshold}  detected {}/{} windows, {} false-positive rows",
                p.profile,
                p.score,
                p.true_positives,
                p.true_positives + p.false_negatives,
                p.false_positives
            )?;
        }
        Ok(())
    }
}

/// NAB's probationary period: the first 15% of rows, at most 750, are not scored.
pub fn probationary_rows(rows: usize) -> usize {
    ((rows as f64 * 0.15).floor() as usize).min(750)
}

/// The scaled sigmoid of the NAB rules: 2 / (1 + e^(5y)) - 1.
fn scaled_sigmoid(y: f64) -> f64 {
    2.0 / (1.0 + (5.0 * y).exp()) - 1.0
}

/// What one scored row contributes if it is a detection.
#[derive(Debug, Clone, Copy)]
enum Contribution {
    /// Inside window `window` (global index), worth `sigma` of tpWeight if it is the earliest.
    InWindow { window: usize, sigma: f64 },
    /// Outside all windows, costing `cost` of fpWeight.
    Outside { cost: f64 },
}

fn contributions(files: &[ScoredFile]) -> (Vec<(f64, Contribution)>, usize) {
    let max_sigma = scaled_sigmoid(-1.0);
    let mut points = Vec::new();
    let mut window_base = 0;
    for file in files {
        let probation = probationary_rows(file.scores.len());
        let mut next_window = 0;
        let mut previous: Option<(usize, usize)> = None;
        for (i, score) in file.scores.iter().enumerate() {
            while next_window < file.windows.len() && file.windows[next_window].1 < i {
                previous = Some(file.windows[next_window]);
                next_window += 1;
            }
            let inside = file
                .windows
                .get(next_window)
                .filter(|(first, _)| *first <= i);
            if i < probation {
                continue;
            }
            let contribution = match (inside, previous) {
                (Some(&(first, last)), _) => {
                    let width = (last - first + 1) as f64;
                    let y = -((last - i + 1) as f64) / width;
                    Contribution::InWindow {
                        window: window_base + next_window,
                        sigma: scaled_sigmoid(y) / max_sigma,
                    }
                }
                (None, None) => Contribution::Outside { cost: 1.0 },
                (None, Some((first, last))) => {
                    let width = (last - first + 1) as f64;
                    let y = (i - last) as f64 / (width - 1.0).max(1.0);
                    Contribution::Outside {
                        cost: if y > 3.0 { 1.0 } else { -scaled_sigmoid(y) },
                    }
                }
            };
            points.push((*score, contribution));
        }
        window_base += file.windows.len();
    }
    (points, window_base)
}

/// Scores a file set: one optimal threshold per profile over all files together.
pub fn score_files(files: &[ScoredFile]) -> NabReport {
    let (mut points, windows) = contributions(files);
    points.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut best_sigma = vec![f64::NAN; windows];
    let (mut sum_sigma, mut detected, mut fp_cost, mut fp_rows) = (0.0, 0usize, 0.0, 0usize);
    let raw = |profile: &Profile, sum_sigma: f64, detected: usize, fp_cost: f64| {
        profile.tp_weight * sum_sigma
            - profile.fn_weight * (windows - detected) as f64
            - profile.fp_weight * fp_cost
    };
    // (raw score, threshold, detected, fp rows) per profile; start with "detect nothing".
    let mut best: Vec<(f64, Option<f64>, usize, usize)> = Profile::ALL
        .iter()
        .map(|p| (raw(p, 0.0, 0, 0.0), None, 0, 0))
        .collect();
    let mut index = 0;
    while index < points.len() {
        let threshold = points[index].0;
        while index < points.len() && points[index].0 == threshold {
            match points[index].1 {
                Contribution::InWindow { window, sigma } => {
                    if best_sigma[window].is_nan() {
                        best_sigma[window] = sigma;
                        sum_sigma += sigma;
                        detected += 1;
                    } else if sigma > best_sigma[window] {
                        sum_sigma += sigma - best_sigma[window];
                        best_sigma[window] = sigma;
                    }
                }
                Contribution::Outside { cost } => {
                    fp_cost += cost;
                    fp_rows += 1;
                }
            }
            index += 1;
        }
        for (profile, best) in Profile::ALL.iter().zip(best.iter_mut()) {
            let value = raw(profile, sum_sigma, detected, fp_cost);
            if value > best.0 + 1e-12 {
                *best = (value, Some(threshold), detected, fp_rows);
            }
        }
    }
    let profiles = Profile::ALL
        .iter()
        .zip(best)
        .map(
            |(profile, (value, threshold, detected, fp_rows))| ProfileScore {
                profile: profile.name,
                score: normalise(profile, value, windows),
                threshold,
                true_positives: detected,
                false_negatives: windows - detected,
                false_positives: fp_rows,
            },
        )
        .collect();
    NabReport {
        files: files.len(),
        rows: files.iter().map(|f| f.scores.len()).sum(),
        windows,
        profiles,
    }
}

/// The normalised score of a file set at a fixed threshold (for validating a threshold chosen on other
/// files). With no windows in the set the null and perfect scores coincide, so the raw score (0 or a
/// negative false-positive cost) is returned instead.
pub fn score_at_threshold(files: &[ScoredFile], profile: &Profile, threshold: Option<f64>) -> f64 {
    let (points, windows) = contributions(files);
    let mut best_sigma = vec![f64::NAN; windows];
    let mut fp_cost = 0.0;
    if let Some(threshold) = threshold {
        for (score, contribution) in points {
            if score < threshold {
                continue;
            }
            match contribution {
                Contribution::InWindow { window, sigma } => {
                    if best_sigma[window].is_nan() || sigma > best_sigma[window] {
                        best_sigma[window] = sigma;
                    }
                }
                Contribution::Outside { cost } => fp_cost += cost,
            }
        }
    }
    let detected = best_sigma.iter().filter(|s| !s.is_nan()).count();
    let sum_sigma: f64 = best_sigma.iter().filter(|s| !s.is_nan()).sum();
    let value = profile.tp_weight * sum_sigma
        - profile.fn_weight * (windows - detected) as f64
        - profile.fp_weight * fp_cost;
    if windows == 0 {
        value
    } else {
        normalise(profile, value, windows)
    }
}

fn normalise(profile: &Profile, value: f64, windows: usize) -> f64 {
    let null = -profile.fn_weight * windows as f64;
    let perfect = profile.tp_weight * windows as f64;
    if perfect - null <= 0.0 {
        return if value >= 0.0 { 100.0 } else { 0.0 };
    }
    100.0 * (value - null) / (perfect - null)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1000 rows (probation = 150) with one window over rows 500..=599.
    fn file_with(scores: impl Fn(usize) -> f64) -> ScoredFile {
        ScoredFile {
            name: "t.csv".into(),
            scores: (0..1000).map(scores).collect(),
            windows: vec![(500, 599)],
        }
    }

    fn profile(report: &NabReport, name: &str) -> ProfileScore {
        report
            .profiles
            .iter()
            .find(|p| p.profile == name)
            .unwrap()
            .clone()
    }

    #[test]
    fn a_perfect_detector_scores_100_and_the_null_detector_0() {
        let perfect = score_files(&[file_with(|i| if i == 500 { 1.0 } else { 0.0 })]);
        for p in &perfect.profiles {
            assert!((p.score - 100.0).abs() < 1e-9, "{p:?}");
            assert_eq!(p.threshold, Some(1.0));
        }
        let null = score_files(&[file_with(|_| 0.0)]);
        assert!(
            null.profiles
                .iter()
                .all(|p| p.score.abs() < 1e-9 && p.false_positives == 0),
            "{null:?}"
        );
    }

    #[test]
    fn a_false_positive_costs_fp_weight() {
        // A detection at the window start plus one row long before the window.
        let report = score_files(&[file_with(|i| if i == 500 || i == 300 { 1.0 } else { 0.0 })]);
        for p in Profile::ALL {
            let expected = 100.0 * (1.0 - p.fp_weight + p.fn_weight) / (1.0 + p.fn_weight);
            let got = profile(&report, p.name);
            assert!(
                (got.score - expected).abs() < 1e-9,
                "{}: {} vs {expected}",
                p.name,
                got.score
            );
            assert_eq!(got.false_positives, 1);
        }
    }

    #[test]
    fn a_late_detection_earns_the_sigmoid_weight() {
        // Halfway through a 100-row window: y = -(599 - 550 + 1)/100 = -0.5.
        let report = score_files(&[file_with(|i| if i == 550 { 1.0 } else { 0.0 })]);
        let sigma = scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0);
        assert!((sigma - 0.86).abs() < 5e-3, "{sigma}");
        let got = profile(&report, "standard").score;
        assert!((got - 100.0 * (sigma + 1.0) / 2.0).abs() < 1e-9, "{got}");
    }

    #[test]
    fn probationary_rows_and_extra_detections_inside_a_window_cost_nothing() {
        let report = score_files(&[file_with(|i| {
            if i < 100 || (500..520).contains(&i) {
                1.0
            } else {
                0.0
            }
        })]);
        assert!((profile(&report, "standard").score - 100.0).abs() < 1e-9);
    }

    #[test]
    fn false_positives_just_after_a_window_cost_less() {
        let near = score_at_threshold(
            &[file_with(|i| if i == 500 || i == 610 { 1.0 } else { 0.0 })],
            &Profile::STANDARD,
            Some(0.5),
        );
        let far = score_at_threshold(
            &[file_with(|i| if i == 500 || i == 950 { 1.0 } else { 0.0 })],
            &Profile::STANDARD,
            Some(0.5),
        );
        assert!(near > far && far < 100.0 && near < 100.0, "{near} {far}");
    }

    #[test]
    fn the_threshold_is_chosen_over_all_files_together() {
        // File a: the window row scores 0.9 and a false positive scores 0.8.
        // File b: its window row scores 0.7, so catching it means accepting a's false positive.
        let a = file_with(|i| match i {
            500 => 0.9,
            200 => 0.8,
            _ => 0.0,
        });
        let b = file_with(|i| if i == 500 { 0.7 } else { 0.0 });
        let report = score_files(&[a, b]);
        let standard = profile(&report, "standard");
        assert_eq!(standard.threshold, Some(0.7));
        assert_eq!((standard.true_positives, standard.false_positives), (2, 1));
    }

    #[test]
    fn leave_one_category_out_uses_thresholds_from_the_other_categories() {
        let named = |name: &str, file: ScoredFile| ScoredFile {
            name: name.to_owned(),
            ..file
        };
        // Category a is detected at 0.9; category b only at 0.5, where a has a false positive.
        let a = named(
            "a/1.csv",
            file_with(|i| match i {
                500 => 0.9,
                200 => 0.5,
                _ => 0.0,
            }),
        );
        let b = named("b/1.csv", file_with(|i| if i == 500 { 0.5 } else { 0.0 }));
        let held = leave_one_category_out(&[a, b]);
        assert_eq!(held.len(), 2);
        // Held out a: b's threshold 0.5 catches a's window but also its false positive.
        assert!(
            held[0].scores[0] < 100.0 && held[0].scores[0] > 90.0,
            "{held:?}"
        );
        // Held out b: a's threshold 0.9 misses b's window.
        assert!(held[1].scores[0].abs() < 1e-9, "{held:?}");
    }

    #[test]
    fn run_benchmark_replays_and_scores_a_constructed_corpus() {
        let dir = tempfile::tempdir().unwrap();
        let stamp = |i: i64| {
            chrono::DateTime::from_timestamp(1_396_310_400 + i * 300, 0)
                .unwrap()
                .naive_utc()
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        let mut csv = String::from("timestamp,value\n");
        for i in 0..2000 {
            let value = if i == 1500 {
                90.0
            } else {
                10.0 + ((i * 7919) % 13) as f64 / 10.0
            };
            csv.push_str(&format!("{},{value}\n", stamp(i)));
        }
        fs::create_dir_all(dir.path().join("data/cat")).unwrap();
        fs::write(dir.path().join("data/cat/spike.csv"), csv).unwrap();
        let labels = format!(
            "{{\"cat/spike.csv\": [[\"{}.000000\", \"{}.000000\"]]}}",
            stamp(1400),
            stamp(1599)
        );
        fs::write(dir.path().join("labels.json"), labels).unwrap();
        let (report, held_out) = run_benchmark(
            &dir.path().join("data"),
            &dir.path().join("labels.json"),
            &dir.path().join("results"),
            &crate::replay::ReplayConfig::default(),
            &mut |_, _, _| {},
        )
        .unwrap();
        // The spike is halfway through the window: without false positives that earns sigma(-0.5),
        // and a profile may trade a false positive for an earlier detection only if it pays.
        let halfway = 100.0 * (0.8598 + 1.0) / 2.0;
        assert!(
            (report.score("reward_low_FP_rate").unwrap() - halfway).abs() < 0.1,
            "{report}"
        );
        assert!(
            report.score("standard").unwrap() >= halfway - 0.1,
            "{report}"
        );
        assert_eq!(held_out.len(), 1);
    }

    #[test]
    fn reads_results_and_labels_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("timestamp,value,anomaly_score\n");
        for i in 0..1000 {
            let stamp = chrono::DateTime::from_timestamp(1_396_310_400 + i * 300, 0)
                .unwrap()
                .naive_utc();
            csv.push_str(&format!(
                "{},1,{}\n",
                stamp.format("%Y-%m-%d %H:%M:%S"),
                if i == 500 { 1.0 } else { 0.0 }
            ));
        }
        fs::create_dir_all(dir.path().join("results/cat")).unwrap();
        fs::write(dir.path().join("results/cat/f.csv"), csv).unwrap();
        let start = chrono::DateTime::from_timestamp(1_396_310_400 + 500 * 300, 0)
            .unwrap()
            .naive_utc();
        let end = chrono::DateTime::from_timestamp(1_396_310_400 + 599 * 300, 0)
            .unwrap()
            .naive_utc();
        let labels = format!(
            "{{\"cat/f.csv\": [[\"{}.000000\", \"{}.000000\"]]}}",
            start.format("%Y-%m-%d %H:%M:%S"),
            end.format("%Y-%m-%d %H:%M:%S")
        );
        fs::write(dir.path().join("labels.json"), labels).unwrap();
        let report =
            score_results(&dir.path().join("results"), &dir.path().join("labels.json")).unwrap();
        assert_eq!((report.files, report.windows), (1, 1));
        assert!((report.score("standard").unwrap() - 100.0).abs() < 1e-9);
        let missing = score_results(&dir.path().join("nowhere"), &dir.path().join("labels.json"))
            .unwrap_err();
        assert!(missing.to_string().contains("cat/f.csv"), "{missing}");
    }
}
