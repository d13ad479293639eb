//! Replays a NAB data folder with the replay ensemble and prints the NAB report, plus
//! leave-one-category-out figures (threshold chosen on the other categories).
//!
//! `cargo run --release -p detector --example nab -- /path/to/nab [results-dir]`
//! where `/path/to/nab` holds `data/` and `labels.json`.
//!
//! For experiments only: `VIGIL_ENSEMBLE='{"detectors": [...]}'` replaces the replay ensemble (JSON of
//! `EnsembleConfig`), and `VIGIL_PER_FILE=1` prints each file's score, detections and window maxima at
//! the standard threshold.

use std::path::PathBuf;

use detector::nab::{self, Profile};
use detector::replay::{ReplayConfig, replay_dir};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let nab_root = PathBuf::from(args.next().ok_or("usage: nab NAB_DIR [RESULTS_DIR]")?);
    let results = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("vigil-nab-results"));
    let mut config = ReplayConfig::default();
    if let Ok(json) = std::env::var("VIGIL_ENSEMBLE") {
        config.ensemble = serde_json::from_str(&json)?;
    }
    let started = std::time::Instant::now();
    let stats = replay_dir(&nab_root.join("data"), &results, &config, &mut |_, _, _| {})?;
    let elapsed = started.elapsed();
    let labels = nab_root.join("labels.json");
    let files = nab::load_results(&results, &labels)?;
    let report = nab::score_files(&files);
    println!(
        "{} files, {} rows, {} windows, replayed in {:.2?}",
        report.files, report.rows, report.windows, elapsed
    );
    for p in &report.profiles {
        println!(
            "{:<20} {:6.2}  threshold {:?}  tp {} fn {} fp-rows {}",
            p.profile, p.score, p.threshold, p.true_positives, p.false_negatives, p.false_positives
        );
    }
    if std::env::var("VIGIL_PER_FILE").is_ok() {
        let standard = report.profiles[0].threshold;
        for file in &files {
            let one =
                nab::score_at_threshold(std::slice::from_ref(file), &Profile::STANDARD, standard);
            println!(
                "  {:<60} {:8.2} ({} windows)",
                file.name,
                one,
                file.windows.len()
            );
            if let Some(t) = standard {
                let probation = nab::probationary_rows(file.scores.len());
                let hits: Vec<usize> = (probation..file.scores.len())
                    .filter(|i| file.scores[*i] >= t)
                    .collect();
                let describe: Vec<String> = hits
                    .iter()
                    .map(
                        |i| match file.windows.iter().find(|(a, b)| a <= i && i <= b) {
                            Some((a, b)) => format!("{i}[in {}%]", (i - a) * 100 / (b - a + 1)),
                            None => format!("{i}"),
                        },
                    )
                    .collect();
                println!(
                    "      windows {:?} n={} detections {}",
                    file.windows,
                    file.scores.len(),
                    describe.join(" ")
                );
                let maxima: Vec<String> = file
                    .windows
                    .iter()
                    .map(|(a, b)| {
                        let (at, best) = (*a..=*b)
                            .map(|i| (i, file.scores[i]))
                            .fold((0, 0.0), |acc, x| if x.1 > acc.1 { x } else { acc });
                        format!("max {best:.3}@{}%", (at - a) * 100 / (b - a + 1))
                    })
                    .collect();
                println!("      window maxima {}", maxima.join(", "));
            }
        }
    }
    println!(
        "leave-one-category-out (thresholds chosen on the other categories; standard / low_FP / low_FN):"
    );
    for held in nab::leave_one_category_out(&files) {
        println!(
            "  {:<24} {:2} windows  held-out {:7.2} / {:7.2} / {:7.2}",
            held.category, held.windows, held.scores[0], held.scores[1], held.scores[2]
        );
    }
    let _ = stats;
    Ok(())
}
