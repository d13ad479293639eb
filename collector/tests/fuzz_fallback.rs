//! The fuzz targets' bodies run on the stable toolchain: seed inputs from the fuzz corpus and the
//! real scrapes, mutated at random (byte flips, inserted delimiters, deletions, duplications,
//! truncations, spliced lines). `cargo fuzz` explores far more when a nightly toolchain is
//! around (see `collector/fuzz/README.md`); this keeps the same invariants checked in every
//! `cargo test`.

#[path = "../fuzz/fuzz_targets/checks.rs"]
mod checks;

#[path = "../fuzz/fuzz_targets/chain_where.rs"]
mod chain_where;

use proptest::prelude::*;

const EXPOSITION_SEEDS: &[&str] = &[
    include_str!("data/node-exporter.prom"),
    include_str!("../fuzz/corpus/exposition/openmetrics.txt"),
    include_str!("../fuzz/corpus/exposition/escapes.prom"),
    "# TYPE a counter\n# UNIT a seconds\na_total{x=\"1\"} 1 1.5 # {t=\"x\"} 2\n# EOF\n",
];

const SELECTOR_SEEDS: &[&str] = &[
    include_str!("../fuzz/corpus/selector/all-ops"),
    include_str!("../fuzz/corpus/selector/name-regex"),
    include_str!("../fuzz/corpus/selector/quotes"),
    // A crash cargo-fuzz found: a `__name__` value that is not a valid name.
    include_str!("../fuzz/corpus/selector/regression-name-not-a-name"),
    r#"x{a="\u00e9\\\"\n"}"#,
];

const CHAIN_WHERE_SEEDS: &[&str] = &[
    include_str!("../fuzz/corpus/chain_where/threshold"),
    include_str!("../fuzz/corpus/chain_where/and-or"),
    include_str!("../fuzz/corpus/chain_where/all-kinds"),
    "not not (small < 0x10 or small >= 200) || ids == 1 && topic == \"x\"",
    "((amount != 115792089237316195423570985008687907853269984665640564039457584007913129639935))",
];

/// Bytes that matter to the grammars, so mutations hit interesting states often.
const INTERESTING: &[u8] = b"{}=,\"\\\n\r\t #~!'`.+-eE0123456789_:aINnf\xff";
/// Bytes that matter to the `where` grammar.
const CHAIN_WHERE_INTERESTING: &[u8] = b"()=!<>&|\"\\ -0123456789xXabcdefANDORNOTandornot_\xff";

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
    SpliceLine(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    mutation_with(INTERESTING)
}

fn mutation_with(interesting: &'static [u8]) -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![prop::sample::select(interesting), any::<u8>()];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), 1..256usize).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(from, to)| Mutation::SpliceLine(from, to)),
    ]
}

fn apply(seed: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut data = seed.as_bytes().to_vec();
    for mutation in mutations {
        let len = data.len().max(1);
        match *mutation {
            Mutation::Flip(at, b) if !data.is_empty() => data[at % len] = b,
            Mutation::Insert(at, b) => data.insert(at % (data.len() + 1), b),
            Mutation::Delete(at, n) if !data.is_empty() => {
                let start = at % len;
                let end = (start + n).min(data.len());
                data.drain(start..end);
            }
            Mutation::Duplicate(at, n) if !data.is_empty() => {
                let start = at % len;
                let end = (start + n).min(data.len());
                let copy = data[start..end].to_vec();
                data.splice(start..start, copy);
            }
            Mutation::Truncate(at) => data.truncate(at % (data.len() + 1)),
            Mutation::SpliceLine(from, to) => {
                let mut lines: Vec<Vec<u8>> =
                    data.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                let line = lines[from % lines.len()].clone();
                let at = to % (lines.len() + 1);
                lines.insert(at, line);
                data = lines.join(&b'\n');
            }
            _ => {}
        }
    }
    data
}

proptest! {
    // 300 cases keep `cargo test` quick in debug builds; FUZZ_FALLBACK_CASES=100000 (with
    // --release) runs a longer campaign.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("FUZZ_FALLBACK_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(300),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn exposition_fuzz_body_on_mutated_seeds(seed in prop::sample::select(EXPOSITION_SEEDS), mutations in prop::collection::vec(mutation(), 1..12)) {
        let data = apply(seed, &mutations);
        checks::exposition(&data);
        // Invalid UTF-8 is refused before the parser; check the parser on the lossy text too.
        checks::exposition(String::from_utf8_lossy(&data).as_bytes());
    }

    #[test]
    fn selector_fuzz_body_on_mutated_seeds(seed in prop::sample::select(SELECTOR_SEEDS), mutations in prop::collection::vec(mutation(), 1..8)) {
        let data = apply(seed, &mutations);
        checks::selector(String::from_utf8_lossy(&data).as_bytes());
    }

    #[test]
    fn chain_where_fuzz_body_on_mutated_seeds(seed in prop::sample::select(CHAIN_WHERE_SEEDS), mutations in prop::collection::vec(mutation_with(CHAIN_WHERE_INTERESTING), 1..8)) {
        let data = apply(seed, &mutations);
        chain_where::chain_where(&data);
        chain_where::chain_where(String::from_utf8_lossy(&data).as_bytes());
    }

    #[test]
    fn fuzz_bodies_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        checks::exposition(&data);
        checks::selector(&data);
        chain_where::chain_where(&data);
    }
}

#[test]
fn fuzz_bodies_accept_their_seeds() {
    for seed in EXPOSITION_SEEDS {
        checks::exposition(seed.as_bytes());
    }
    for seed in SELECTOR_SEEDS {
        checks::selector(seed.as_bytes());
        assert!(collector::series::Selector::parse(seed).is_ok(), "{seed}");
    }
    for seed in CHAIN_WHERE_SEEDS {
        chain_where::chain_where(seed.as_bytes());
        assert!(
            collector::chain::filter::Condition::parse(seed).is_ok(),
            "{seed}"
        );
    }
}
