//! Server-rendered SVG line charts for incident evidence.
//!
//! Rendered on the server so the incident page shows the signal without JavaScript and without a chart
//! library. The output contains only numbers and fixed text that this module writes itself (no caller
//! strings), so it is safe to embed unescaped in a template.

use std::fmt::Write;

/// Margins around the plot area, in SVG units: room for the y labels on the left and x labels below.
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A line chart of `points` (`(unix_ms, value)`, any order) with labelled axes and a vertical marker at
/// `start_ms` (the incident's start). Returns an `<svg>` element sized `width`×`height`, responsive
/// through its `viewBox`. With no points it returns a chart frame saying so, so the page layout holds.
pub fn render_series_svg(points: &[(i64, f64)], start_ms: i64, width: u32, height: u32) -> String {
    let (w, h) = (f64::from(width.max(120)), f64::from(height.max(80)));
    let finite: Vec<(i64, f64)> = {
        let mut sorted: Vec<(i64, f64)> = points
            .iter()
            .copied()
            .filter(|(_, value)| value.is_finite())
            .collect();
        sorted.sort_by_key(|(at, _)| *at);
        sorted
    };
    let mut svg = String::with_capacity(2048 + finite.len() * 16);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="{}">"#,
        aria_label(&finite, start_ms)
    );
    let plot_w = w - LEFT - RIGHT;
    let plot_h = h - TOP - BOTTOM;
    let _ = write!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#8a8f98" stroke-width="1"/>"##
    );
    if finite.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="13" fill="#444">no data recorded around the start</text></svg>"##,
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
        return svg;
    }

    // The x range always includes the start, so the marker is on the chart even if data begins later.
    let t_min = finite[0].0.min(start_ms);
    let t_max = finite[finite.len() - 1].0.max(start_ms);
    let t_span = (t_max - t_min).max(1) as f64;
    let (mut v_min, mut v_max) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
            (lo.min(*v), hi.max(*v))
        });
    if (v_max - v_min).abs() < f64::EPSILON * v_max.abs().max(1.0) {
        // A flat line would divide by zero; give it a band so it sits mid-chart.
        let pad = if v_max == 0.0 {
            1.0
        } else {
            v_max.abs() * 0.05
        };
        v_min -= pad;
        v_max += pad;
    }
    let x_of = |at: i64| LEFT + (at - t_min) as f64 / t_span * plot_w;
    let y_of = |value: f64| TOP + (v_max - value) / (v_max - v_min) * plot_h;

    // Y axis: min, middle, max with light grid lines.
    for fraction in [0.0, 0.5, 1.0] {
        let value = v_min + (v_max - v_min) * fraction;
        let y = y_of(value);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#d5d8dd" stroke-width="1"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11" fill="#333">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            format_value(value)
        );
    }
    // X axis: time relative to the start ("-5m", "0", "+2m"), which reads better than clock times.
    for (fraction, anchor) in [(0.0, "start"), (0.5, "middle"), (1.0, "end")] {
        let at = t_min + ((t_max - t_min) as f64 * fraction) as i64;
        let x = x_of(at);
        let _ = write!(
            svg,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="{anchor}" font-size="11" fill="#333">{}</text>"##,
            TOP + plot_h + 18.0,
            format_offset(at - start_ms)
        );
    }

    let mut path = String::with_capacity(finite.len() * 16);
    for (index, (at, value)) in finite.iter().enumerate() {
        let _ = write!(
            path,
            "{}{:.1},{:.1}",
            if index == 0 { "M" } else { " L" },
            x_of(*at),
            y_of(*value)
        );
    }
    let _ = write!(
        svg,
        r##"<path d="{path}" fill="none" stroke="#0b5cad" stroke-width="2" stroke-linejoin="round"/>"##
    );
    if finite.len() == 1 {
        let (at, value) = finite[0];
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#0b5cad"/>"##,
            x_of(at),
            y_of(value)
        );
    }
    let start_x = x_of(start_ms);
    let _ = write!(
        svg,
        r##"<line class="start" x1="{start_x:.1}" x2="{start_x:.1}" y1="{TOP}" y2="{}" stroke="#b00020" stroke-width="2" stroke-dasharray="4 3"/><text x="{:.1}" y="{}" font-size="11" fill="#b00020">start</text></svg>"##,
        TOP + plot_h,
        start_x + 4.0,
        TOP + 12.0
    );
    svg
}

/// What a screen reader says for the chart: the range and the values at the ends.
fn aria_label(points: &[(i64, f64)], start_ms: i64) -> String {
    let Some(first) = points.iter().min_by_key(|(at, _)| *at) else {
        return "No data recorded around the start".to_owned();
    };
    let last = points.iter().max_by_key(|(at, _)| *at).unwrap_or(first);
    format!(
        "Series from {} to {} relative to the start: {} to {}",
        format_offset(first.0 - start_ms),
        format_offset(last.0 - start_ms),
        format_value(first.1),
        format_value(last.1)
    )
}

/// Compact numbers for axis labels: 1234567 → "1.23M", 0.9987 → "0.9987".
pub fn format_value(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e9 {
        format!("{:.2}G", value / 1e9)
    } else if magnitude >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.1}k", value / 1e3)
    } else if magnitude >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.4}")
    }
}

/// A signed offset from the start: "0", "+90s", "-5m", "+1h".
pub fn format_offset(offset_ms: i64) -> String {
    let sign = if offset_ms < 0 { "-" } else { "+" };
    let seconds = offset_ms.unsigned_abs() / 1000;
    match seconds {
        0 => "0".to_owned(),
        s if s < 120 => format!("{sign}{s}s"),
        s if s < 7200 => format!("{sign}{}m", s / 60),
        s => format!("{sign}{}h", s / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers_in_path(svg: &str) -> Vec<(f64, f64)> {
        let start = svg.find(r#"<path d=""#).unwrap() + 9;
        let end = start + svg[start..].find('"').unwrap();
        svg[start..end]
            .split(['M', 'L'])
            .filter(|part| !part.trim().is_empty())
            .map(|pair| {
                let (x, y) = pair.trim().split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn falling_series_is_drawn_left_to_right_and_downwards() {
        let points: Vec<(i64, f64)> = (0..10)
            .map(|i| (i * 1000, 100.0 - i as f64 * 10.0))
            .collect();
        let svg = render_series_svg(&points, 5000, 600, 200);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        let drawn = numbers_in_path(&svg);
        assert_eq!(drawn.len(), 10);
        assert!(
            drawn.windows(2).all(|pair| pair[0].0 < pair[1].0),
            "x grows with time"
        );
        assert!(
            drawn.windows(2).all(|pair| pair[0].1 < pair[1].1),
            "falling values go down in SVG y"
        );
        // Everything stays inside the plot area.
        for (x, y) in drawn {
            assert!((LEFT..=600.0 - RIGHT).contains(&x));
            assert!((TOP..=200.0 - BOTTOM).contains(&y));
        }
    }

    #[test]
    fn start_marker_sits_where_the_start_is() {
        let points = [(0, 1.0), (10_000, 2.0)];
        let svg = render_series_svg(&points, 5_000, 600, 200);
        let middle = LEFT + (600.0 - LEFT - RIGHT) / 2.0;
        assert!(
            svg.contains(&format!(r#"class="start" x1="{middle:.1}""#)),
            "{svg}"
        );
        assert!(svg.contains(">start</text>"));
        // Axis labels are relative to the start.
        assert!(svg.contains(">-5s</text>") && svg.contains(">+5s</text>"));
    }

    #[test]
    fn start_outside_the_data_widens_the_range() {
        let points = [(10_000, 1.0), (20_000, 2.0)];
        let svg = render_series_svg(&points, 0, 600, 200);
        assert!(svg.contains(&format!(r#"class="start" x1="{LEFT:.1}""#)));
    }

    #[test]
    fn empty_and_flat_series_do_not_break() {
        let empty = render_series_svg(&[], 0, 600, 200);
        assert!(empty.contains("no data recorded"));
        assert!(!empty.contains("<path"));
        let flat = render_series_svg(&[(0, 5.0), (1000, 5.0)], 500, 600, 200);
        let drawn = numbers_in_path(&flat);
        assert!(
            drawn.iter().all(|(_, y)| y.is_finite()),
            "no NaN from a zero range"
        );
        let nan = render_series_svg(&[(0, f64::NAN), (1000, 1.0)], 0, 600, 200);
        assert!(!nan.contains("NaN"));
    }

    #[test]
    fn labels_are_compact() {
        assert_eq!(format_value(1_250_000.0), "1.25M");
        assert_eq!(format_value(0.99871), "0.9987");
        assert_eq!(format_value(42.0), "42");
        assert_eq!(format_offset(-300_000), "-5m");
        assert_eq!(format_offset(90_000), "+90s");
        assert_eq!(format_offset(0), "0");
    }
}
