//! Batch detection over CSV streams: `timestamp,value` in, `timestamp,value,anomaly_score` out.
//!
//! Replay runs the same [`Ensemble`] as the live pipeline, one fresh ensemble per file, row by row in
//! file order, so a row's score depends only on the rows before it and itself. Rows are never sorted or
//! de-duplicated: the file's order is the stream's order.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ensemble::{Ensemble, EnsembleConfig};
use crate::timestamp::parse_timestamp;

/// Replay options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplayConfig {
    /// The ensemble run over each file. Default [`EnsembleConfig::replay`].
    pub ensemble: EnsembleConfig,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        Self {
            ensemble: EnsembleConfig::replay(),
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReplayStats {
    pub files: usize,
    pub rows: usize,
    /// The highest score written.
    pub max_score: f64,
}

/// Why a replay failed. Messages name the file and, for bad data, the line (1-based, header = line 1).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{path}: {action}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    BadInput {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("invalid replay config: {0}")]
    Config(String),
}

impl model::HasKind for ReplayError {
    fn kind(&self) -> model::ErrorKind {
        match self {
            ReplayError::Io { .. } => model::ErrorKind::Unavailable,
            ReplayError::BadInput { .. } | ReplayError::Config(_) => model::ErrorKind::InvalidInput,
        }
    }
}

/// Scores every row of `input` and writes `timestamp,value,anomaly_score` to `output` (parent folders
/// are created). The output is written to a temporary sibling and renamed, so a failed replay leaves no
/// half-written file behind.
pub fn replay_file(
    input: &Path,
    output: &Path,
    config: &ReplayConfig,
) -> Result<ReplayStats, ReplayError> {
    config.ensemble.validate().map_err(ReplayError::Config)?;
    let rows = read_rows(input)?;
    if let Some(parent) = output.parent() {
        fs::create_dir_all(parent).map_err(|source| ReplayError::Io {
            path: parent.to_owned(),
            action: "cannot create folder",
            source,
        })?;
    }
    let scores = score_rows(&rows, &config.ensemble);
    let temporary = output.with_extension("csv.partial");
    let io_error = |source| ReplayError::Io {
        path: temporary.clone(),
        action: "cannot write",
        source,
    };
    let file = fs::File::create(&temporary).map_err(io_error)?;
    let mut writer = BufWriter::new(file);
    writeln!(writer, "timestamp,value,anomaly_score").map_err(io_error)?;
    let mut max_score: f64 = 0.0;
    for (row, score) in rows.iter().zip(&scores) {
        max_score = max_score.max(*score);
        writeln!(
            writer,
            "{},{},{:.9}",
            row.timestamp_text, row.value_text, score
        )
        .map_err(io_error)?;
    }
    writer.flush().map_err(io_error)?;
    drop(writer);
    fs::rename(&temporary, output).map_err(|source| ReplayError::Io {
        path: output.to_owned(),
        action: "cannot write",
        source,
    })?;
    Ok(ReplayStats {
        files: 1,
        rows: rows.len(),
        max_score,
    })
}

/// Replays every `.csv` file under `input_dir` into the same relative path under `output_dir`, in
/// sorted path order, calling `progress(done, total, file)` before each file.
pub fn replay_dir(
    input_dir: &Path,
    output_dir: &Path,
    config: &ReplayConfig,
    progress: &mut dyn FnMut(usize, usize, &Path),
) -> Result<ReplayStats, ReplayError> {
    let mut files = Vec::new();
    collect_csv_files(input_dir, &mut files)?;
    files.sort();
    let mut stats = ReplayStats::default();
    let total = files.len();
    for (done, file) in files.iter().enumerate() {
        progress(done, total, file);
        let relative = file.strip_prefix(input_dir).unwrap_or(file);
        let one = replay_file(file, &output_dir.join(relative), config)?;
        stats.files += 1;
        stats.rows += one.rows;
        stats.max_score = stats.max_score.max(one.max_score);
    }
    Ok(stats)
}

/// Scores one already-parsed stream; exposed to the crate for NAB and tests.
pub(crate) fn score_rows(rows: &[Row], config: &EnsembleConfig) -> Vec<f64> {
    let mut ensemble = Ensemble::new(config);
    rows.iter()
        .map(|row| ensemble.observe(row.at_ms, row.value, true).score)
        .collect()
}

fn collect_csv_files(folder: &Path, files: &mut Vec<PathBuf>) -> Result<(), ReplayError> {
    let entries = fs::read_dir(folder).map_err(|source| ReplayError::Io {
        path: folder.to_owned(),
        action: "cannot list folder",
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| ReplayError::Io {
            path: folder.to_owned(),
            action: "cannot list folder",
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect_csv_files(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"))
        {
            files.push(path);
        }
    }
    Ok(())
}

/// One input row, keeping the original text so the output repeats it exactly.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) timestamp_text: String,
    pub(crate) value_text: String,
    pub(crate) at_ms: model::UnixMs,
    pub(crate) value: f64,
}

pub(crate) fn read_rows(path: &Path) -> Result<Vec<Row>, ReplayError> {
    let bad = |line: u64, message: String| ReplayError::BadInput {
        path: path.to_owned(),
        line,
        message,
    };
    let text = fs::read_to_string(path).map_err(|source| ReplayError::Io {
        path: path.to_owned(),
        action: "cannot read",
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| bad(1, format!("cannot read the header: {error}")))?
        .clone();
    if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
        return Err(bad(
            1,
            "empty file; expected a header \"timestamp,value\" and at least one row".to_owned(),
        ));
    }
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(timestamp_column), Some(value_column)) = (column("timestamp"), column("value"))
    else {
        return Err(bad(
            1,
            format!(
                "header {:?} must name the columns \"timestamp\" and \"value\"",
                headers.iter().collect::<Vec<_>>().join(",")
            ),
        ));
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| {
            let line = error.position().map_or(0, |p| p.line());
            bad(line, format!("malformed csv row: {error}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let (Some(timestamp_text), Some(value_text)) =
            (record.get(timestamp_column), record.get(value_column))
        else {
            return Err(bad(
                line,
                "missing the timestamp or value column".to_owned(),
            ));
        };
        let at_ms = parse_timestamp(timestamp_text).map_err(|message| bad(line, message))?;
        let value: f64 = value_text.parse().map_err(|_| {
            bad(
                line,
                format!("unparsable value {value_text:?}; expected a number"),
            )
        })?;
        if !value.is_finite() {
            return Err(bad(line, format!("value {value_text:?} is not finite")));
        }
        rows.push(Row {
            timestamp_text: timestamp_text.to_owned(),
            value_text: value_text.to_owned(),
            at_ms,
            value,
        });
    }
    if rows.is_empty() {
        return Err(bad(1, "no data rows after the header".to_owned()));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn series_csv(rows: usize) -> String {
        let mut text = String::from("timestamp,value\n");
        for i in 0..rows {
            let value = if i == rows * 3 / 4 {
                500.0
            } else {
                10.0 + ((i * 7919) % 13) as f64 / 10.0
            };
            let minutes = i * 5;
            text.push_str(&format!(
                "2014-04-{:02} {:02}:{:02}:00,{value}\n",
                1 + minutes / 1440,
                (minutes / 60) % 24,
                minutes % 60
            ));
        }
        text
    }

    fn read_output(path: &Path) -> Vec<(String, String, f64)> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .map(|line| {
                let parts: Vec<&str> = line.split(',').collect();
                (
                    parts[0].to_owned(),
                    parts[1].to_owned(),
                    parts[2].parse().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn writes_one_row_per_input_row_with_the_same_text_and_flags_the_spike() {
        let dir = tempfile::tempdir().unwrap();
        let input = write(dir.path(), "in.csv", &series_csv(2000));
        let output = dir.path().join("out/scored.csv");
        let stats = replay_file(&input, &output, &ReplayConfig::default()).unwrap();
        assert_eq!(stats.rows, 2000);
        let rows = read_output(&output);
        let original: Vec<&str> = fs::read_to_string(&input)
            .unwrap()
            .leak()
            .lines()
            .skip(1)
            .collect();
        assert_eq!(rows.len(), original.len());
        for ((timestamp, value, score), line) in rows.iter().zip(&original) {
            assert_eq!(format!("{timestamp},{value}"), *line);
            assert!((0.0..=1.0).contains(score));
        }
        let spike = rows[1500].2;
        assert!(
            rows.iter()
                .enumerate()
                .filter(|(i, _)| *i != 1500 && *i > 300)
                .all(|(_, r)| r.2 < spike)
        );
    }

    #[test]
    fn scores_are_causal_a_prefix_scores_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let text = series_csv(1200);
        let prefix: String = text.lines().take(801).map(|l| format!("{l}\n")).collect();
        let full_in = write(dir.path(), "full.csv", &text);
        let prefix_in = write(dir.path(), "prefix.csv", &prefix);
        replay_file(
            &full_in,
            &dir.path().join("full.out.csv"),
            &ReplayConfig::default(),
        )
        .unwrap();
        replay_file(
            &prefix_in,
            &dir.path().join("prefix.out.csv"),
            &ReplayConfig::default(),
        )
        .unwrap();
        let full = read_output(&dir.path().join("full.out.csv"));
        let prefix = read_output(&dir.path().join("prefix.out.csv"));
        assert_eq!(prefix.len(), 800);
        assert_eq!(&full[..800], &prefix[..]);
    }

    #[test]
    fn bad_input_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("empty.csv", "", ":1:", "empty file"),
            (
                "header.csv",
                "time,val\n2014-04-01 00:00:00,1\n",
                ":1:",
                "\"timestamp\"",
            ),
            (
                "stamp.csv",
                "timestamp,value\n2014-04-01 00:00:00,1\nnoon,2\n",
                ":3:",
                "unparsable timestamp",
            ),
            (
                "nan.csv",
                "timestamp,value\n2014-04-01 00:00:00,NaN\n",
                ":2:",
                "not finite",
            ),
            (
                "inf.csv",
                "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,inf\n",
                ":3:",
                "not finite",
            ),
            (
                "text.csv",
                "timestamp,value\n2014-04-01 00:00:00,abc\n",
                ":2:",
                "unparsable value",
            ),
            (
                "short.csv",
                "timestamp,value\n2014-04-01 00:00:00\n",
                ":2:",
                "malformed csv row",
            ),
            ("norows.csv", "timestamp,value\n", ":1:", "no data rows"),
        ];
        for (name, text, line, what) in cases {
            let input = write(dir.path(), name, text);
            let error = replay_file(
                &input,
                &dir.path().join("out.csv"),
                &ReplayConfig::default(),
            )
            .unwrap_err()
            .to_string();
            assert!(
                error.contains(name) && error.contains(line) && error.contains(what),
                "{name}: {error}"
            );
        }
        assert!(
            !dir.path().join("out.csv").exists(),
            "no partial output is left behind"
        );
    }

    #[test]
    fn replay_dir_mirrors_the_tree_and_reports_progress() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        write(&input, "a/one.csv", &series_csv(100));
        write(&input, "b/c/two.csv", &series_csv(50));
        write(&input, "notes.txt", "not a csv");
        let mut seen = Vec::new();
        let stats = replay_dir(
            &input,
            &dir.path().join("out"),
            &ReplayConfig::default(),
            &mut |done, total, path| seen.push((done, total, path.file_name().unwrap().to_owned())),
        )
        .unwrap();
        assert_eq!((stats.files, stats.rows), (2, 150));
        assert_eq!(seen.len(), 2);
        assert!(
            dir.path().join("out/a/one.csv").exists()
                && dir.path().join("out/b/c/two.csv").exists()
        );
        assert!(!dir.path().join("out/notes.txt").exists());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// A row's score never depends on later rows: scoring a prefix gives the same scores.
        #[test]
        fn scoring_is_causal(values in proptest::collection::vec(-1e6f64..1e6, 2..600), cut in 1usize..600) {
            let rows: Vec<Row> = values
                .iter()
                .enumerate()
                .map(|(i, v)| Row { timestamp_text: String::new(), value_text: String::new(), at_ms: i as i64 * 300_000, value: *v })
                .collect();
            let cut = cut.min(rows.len());
            let config = EnsembleConfig::replay();
            let full = score_rows(&rows, &config);
            let prefix = score_rows(&rows[..cut], &config);
            proptest::prop_assert_eq!(&full[..cut], &prefix[..]);
            proptest::prop_assert!(full.iter().all(|s| s.is_finite() && (0.0..=1.0).contains(s)));
        }
    }

    #[test]
    fn accepts_unix_and_rfc3339_timestamps_and_keeps_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let input = write(
            dir.path(),
            "mixed.csv",
            "timestamp,value\n1396310400,1\n1396310700000,2\n2014-04-01T00:10:00Z,3\n",
        );
        let output = dir.path().join("mixed.out.csv");
        replay_file(&input, &output, &ReplayConfig::default()).unwrap();
        let rows = read_output(&output);
        assert_eq!(
            rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["1396310400", "1396310700000", "2014-04-01T00:10:00Z"]
        );
    }
}
