//! Inputs shared by the benches: the real node_exporter scrape scaled up.

/// The full node_exporter scrape (505 samples) repeated `copies` times as one body, each copy
/// with a distinct `instance` label, families kept together under one HELP/TYPE header (as
/// one big exporter would expose them). Returns the body and its sample count.
pub fn scaled_node_exporter(copies: usize) -> (String, usize) {
    let source = include_str!("../../tests/data/node-exporter-full.prom");
    // Split into families: comment lines, then the sample lines that follow them.
    let mut families: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
    for line in source.lines() {
        if line.starts_with('#') {
            if families
                .last()
                .is_none_or(|(_, samples)| !samples.is_empty())
            {
                families.push((Vec::new(), Vec::new()));
            }
            families.last_mut().expect("just pushed").0.push(line);
        } else if !line.is_empty() {
            if families.is_empty() {
                families.push((Vec::new(), Vec::new()));
            }
            families.last_mut().expect("not empty").1.push(line);
        }
    }
    let mut body = String::with_capacity(source.len() * copies * 2);
    let mut samples = 0;
    for (comments, lines) in &families {
        for comment in comments {
            body.push_str(comment);
            body.push('\n');
        }
        for copy in 0..copies {
            for line in lines {
                let name_end = line.find(['{', ' ']).expect("a sample line has a value");
                body.push_str(&line[..name_end]);
                body.push_str(&format!("{{instance=\"host-{copy:05}:9100\""));
                if line.as_bytes()[name_end] == b'{' {
                    let rest = &line[name_end + 1..];
                    if !rest.starts_with('}') {
                        body.push(',');
                    }
                    body.push_str(rest);
                } else {
                    body.push('}');
                    body.push_str(&line[name_end..]);
                }
                body.push('\n');
                samples += 1;
            }
        }
    }
    (body, samples)
}
