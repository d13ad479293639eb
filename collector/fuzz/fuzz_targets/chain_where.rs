//! Fuzz target `chain_where`: the `where` condition of chain event watches
//! (`collector::chain::filter`): parse, check against an event's argument types, evaluate on
//! decoded arguments.
//!
//! Unlike the other targets, the body lives here rather than in `checks.rs`; the stable fallback
//! (`collector/tests/fuzz_fallback.rs`) includes this file as a module, where `cfg(test)` drops
//! the libFuzzer entry point.

#![cfg_attr(not(test), no_main)]

use collector::chain::abi::{CallSpec, EventSpec, Value};
use collector::chain::filter::{Condition, MAX_WHERE_BYTES, WhereError};

#[cfg(not(test))]
libfuzzer_sys::fuzz_target!(|data: &[u8]| chain_where(data));

/// The argument types every input is checked against: one of each kind `where` can compare,
/// and two it cannot.
const TYPES: &[(&str, &str)] = &[
    ("amount", "uint256"),
    ("small", "uint8"),
    ("delta", "int128"),
    ("to", "address"),
    ("flag", "bool"),
    ("role", "bytes32"),
    ("data", "bytes"),
    ("reason", "string"),
    ("ids", "uint256[]"),
    (
        "topic",
        "string (indexed: only its keccak256 hash is logged)",
    ),
];

/// Parses `data` as a condition. Whatever parses prints back to text that parses to the same
/// condition; checking and evaluating never panic, errors say something, syntax errors point
/// inside the text, and `not (c)` always evaluates to the opposite of `c`. The text also goes
/// through the call and event signature parsers, which must not panic either.
pub fn chain_where(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = CallSpec::parse(text, None);
    let _ = EventSpec::parse(text, None);
    let condition = match Condition::parse(text) {
        Ok(condition) => condition,
        Err(WhereError::Syntax { column, message }) => {
            assert!(
                column >= 1 && column <= text.chars().count() + 1,
                "{column}: {message}"
            );
            assert!(!message.is_empty());
            return;
        }
        Err(error) => {
            assert!(text.len() > MAX_WHERE_BYTES, "{error}");
            return;
        }
    };
    let printed = condition.to_string();
    let reparsed = Condition::parse(&printed)
        .unwrap_or_else(|error| panic!("{printed:?} does not parse again: {error}"));
    assert_eq!(reparsed, condition, "{printed:?}");
    assert_eq!(reparsed.to_string(), printed);
    assert_eq!(
        Condition::new(condition.expr().clone()).as_ref(),
        Ok(&condition)
    );

    let types: Vec<(String, String)> = TYPES
        .iter()
        .map(|(name, ty)| ((*name).to_owned(), (*ty).to_owned()))
        .collect();
    let checked = condition.check(&types);
    if let Err(error) = &checked {
        assert!(!error.to_string().is_empty());
    }
    let negated = Condition::parse(&format!("not ({printed})")).ok();
    for values in value_sets() {
        let matched = condition.matches(&values);
        if let Some(negated) = &negated {
            assert_eq!(negated.matches(&values), !matched, "{printed:?}");
        }
    }
}

/// Decoded arguments to evaluate on. The values are parsed from text, so this crate needs no
/// alloy dependency of its own (the types come from `Value`'s fields).
fn value_sets() -> Vec<Vec<(String, Value)>> {
    let set = |amount: &str, delta: &str, to: &str, flag: bool, bytes: &[u8], text: &str| {
        vec![
            ("amount".to_owned(), Value::Uint(amount.parse().unwrap())),
            (
                "small".to_owned(),
                Value::Uint(amount.len().to_string().parse().unwrap()),
            ),
            ("delta".to_owned(), Value::Int(delta.parse().unwrap())),
            ("to".to_owned(), Value::Address(to.parse().unwrap())),
            ("flag".to_owned(), Value::Bool(flag)),
            (
                "role".to_owned(),
                Value::Bytes(vec![bytes.first().copied().unwrap_or(0); 32]),
            ),
            ("data".to_owned(), Value::Bytes(bytes.to_vec())),
            ("reason".to_owned(), Value::String(text.to_owned())),
            ("ids".to_owned(), Value::Other("[1, 2]".to_owned())),
            (
                "topic".to_owned(),
                Value::Other(format!("0x{}", "ab".repeat(32))),
            ),
        ]
    };
    let zero = "0x0000000000000000000000000000000000000000";
    let abab = "0xabababababababababababababababababababab";
    let ffff = "0xffffffffffffffffffffffffffffffffffffffff";
    let u256_max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    let i256_min = "-57896044618658097711785492504343953926634992332820282019728792003956564819968";
    let i256_max = "57896044618658097711785492504343953926634992332820282019728792003956564819967";
    vec![
        set("0", "0", zero, false, &[], ""),
        set("1000000000", "-1", abab, true, &[0xde, 0xad], "exploit"),
        set(u256_max, i256_min, ffff, true, &[0xff; 4], "\"\\"),
        set(
            "340282366920938463463374607431768211456",
            i256_max,
            abab,
            false,
            &[1],
            "x",
        ),
        // Names present with kinds that do not fit, and a set with no arguments at all.
        TYPES
            .iter()
            .map(|(name, _)| ((*name).to_owned(), Value::String("1".to_owned())))
            .collect(),
        Vec::new(),
    ]
}
