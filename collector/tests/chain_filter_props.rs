//! Properties of chain watching's pure parts: the `where` filter (`chain::filter`) and the ABI
//! layer (`chain::abi`). Nothing here may panic on hostile input, printed conditions parse back
//! to themselves, and numeric comparisons agree with plain integer arithmetic.

use alloy_primitives::{B256, I256, U256};
use collector::chain::abi::{self, CallSpec, EventSpec, Value};
use collector::chain::filter::{Comparison, Condition, Expr, Literal, Op, WhereError};
use proptest::prelude::*;

const OPS: [Op; 6] = [Op::Eq, Op::Ne, Op::Gt, Op::Ge, Op::Lt, Op::Le];

fn op() -> impl Strategy<Value = Op> {
    prop::sample::select(OPS.to_vec())
}

fn identifier() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,8}".prop_filter("not a keyword", |name| {
        !["and", "or", "not", "true", "false"].contains(&name.to_ascii_lowercase().as_str())
    })
}

fn u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        any::<u64>().prop_map(U256::from),
        any::<[u8; 32]>().prop_map(|bytes| U256::from_be_bytes(bytes)),
        Just(U256::MAX),
        Just(U256::from(1) << 255),
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        (any::<bool>(), u256()).prop_map(|(negative, magnitude)| {
            // Canonical: no negative zero, nothing below -2^255.
            let negative = negative && !magnitude.is_zero() && magnitude <= U256::from(1) << 255;
            Literal::Number {
                negative,
                magnitude,
            }
        }),
        "[0-9a-f]{1,70}".prop_map(Literal::Hex),
        any::<bool>().prop_map(Literal::Bool),
        any::<String>().prop_map(Literal::Str),
        "[\"\\\\a ]{0,6}".prop_map(Literal::Str),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = (identifier(), op(), literal())
        .prop_map(|(arg, op, literal)| Expr::Compare(Comparison { arg, op, literal }));
    leaf.prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|expr| Expr::Not(Box::new(expr))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner, 2..4).prop_map(Expr::Or),
        ]
    })
}

/// Text that is mostly made of the grammar's pieces, so random strings get deep into the parser.
fn condition_like_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "amount",
        "to",
        " ",
        "(",
        ")",
        "==",
        "!=",
        ">",
        ">=",
        "<",
        "<=",
        "=",
        "and",
        "OR",
        "not",
        "&&",
        "||",
        "!",
        "-",
        "1",
        "0x",
        "ff",
        "0xAbC",
        "true",
        "false",
        "\"",
        "\\",
        "\"s\"",
        "99999999999999999999999999999999999999999999999999999999999999999999999999999999",
        "é",
        "\n",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn hostile_signature() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "f",
        "Transfer",
        "event ",
        "function ",
        "(",
        ")",
        ",",
        " ",
        "uint256",
        "uint",
        "int8",
        "address",
        "bool",
        "bytes",
        "bytes32",
        "string",
        "[",
        "]",
        "[3]",
        "[99999999999]",
        " indexed",
        " anonymous",
        " returns ",
        " view",
        "tuple",
        "x",
        "$",
        "\u{0}",
    ]);
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// `Value` for an i128, as an unsigned value when it can be one and the coin says so.
fn numeric_value(value: i128, unsigned: bool) -> Value {
    if unsigned && value >= 0 {
        Value::Uint(U256::from(value as u128))
    } else {
        Value::Int(I256::try_from(value).expect("i128 fits"))
    }
}

/// The literal text for an i128, in hex when it is non-negative and the coin says so.
fn numeric_literal(value: i128, hex: bool) -> String {
    if hex && value >= 0 {
        format!("0x{value:x}")
    } else {
        value.to_string()
    }
}

fn reference(left: i128, op: Op, right: i128) -> bool {
    match op {
        Op::Eq => left == right,
        Op::Ne => left != right,
        Op::Gt => left > right,
        Op::Ge => left >= right,
        Op::Lt => left < right,
        Op::Le => left <= right,
    }
}

fn calls() -> Vec<CallSpec> {
    [
        "f()(uint256)",
        "f()(int8)",
        "f()(bool)",
        "f()(uint256,string,int256)",
        "f()(uint256[],bytes)",
        "f()((uint256,bool)[2],int128)",
        "latestRoundData()(uint80,int256,uint256,uint256,uint80)",
    ]
    .iter()
    .map(|call| CallSpec::parse(call, None).unwrap())
    .collect()
}

fn events() -> Vec<EventSpec> {
    [
        "Transfer(address indexed from, address indexed to, uint256 value)",
        "Note(string indexed text, bytes data, uint256[] ids)",
        "Role(bytes32 indexed role, address indexed account, address indexed sender)",
        "Mixed((uint256,string) pair, int8 small, bool flag)",
        "Nothing()",
    ]
    .iter()
    .map(|event| EventSpec::parse(event, None).unwrap())
    .collect()
}

fn data_words() -> impl Strategy<Value = Vec<u8>> {
    let word = prop_oneof![
        any::<u8>().prop_map(|small| U256::from(small).to_be_bytes::<32>().to_vec()),
        Just(vec![0xff; 32]),
        Just(U256::from(32).to_be_bytes::<32>().to_vec()),
        prop::collection::vec(any::<u8>(), 32),
    ];
    prop::collection::vec(word, 0..10).prop_map(|words| words.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(text in any::<String>()) {
        if let Ok(condition) = Condition::parse(&text) {
            prop_assert_eq!(Condition::parse(&condition.to_string()), Ok(condition));
        }
    }

    #[test]
    fn parse_never_panics_on_condition_like_text(text in condition_like_text()) {
        match Condition::parse(&text) {
            Ok(condition) => {
                let printed = condition.to_string();
                prop_assert_eq!(Condition::parse(&printed), Ok(condition.clone()));
                let args = [("amount".to_owned(), "uint256".to_owned()), ("to".to_owned(), "address".to_owned())];
                let _ = condition.check(&args);
                let values = [("amount".to_owned(), Value::Uint(U256::from(1))), ("to".to_owned(), Value::Bool(true))];
                let _ = condition.matches(&values);
            }
            Err(WhereError::Syntax { column, message }) => {
                prop_assert!(column >= 1 && column <= text.chars().count() + 1, "{column}: {message}");
            }
            Err(other) => prop_assert!(!other.to_string().is_empty()),
        }
    }

    #[test]
    fn display_parse_round_trips_generated_trees(expr in expr()) {
        // Trees deeper or longer than the limits are refused by `new`, not by a later parse.
        if let Ok(condition) = Condition::new(expr) {
            let printed = condition.to_string();
            let reparsed = Condition::parse(&printed);
            prop_assert_eq!(reparsed.as_ref(), Ok(&condition), "{}", printed);
            prop_assert_eq!(reparsed.unwrap().to_string(), printed);
        }
    }

    #[test]
    fn nearly_valid_text_never_panics(
        expr in expr(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec!['(', ')', '"', '\\', '=', '!', '<', ' ', '-', 'x', '0', '&', '|']), any::<bool>()), 1..4),
    ) {
        let Ok(condition) = Condition::new(expr) else { return Ok(()) };
        let mut chars: Vec<char> = condition.to_string().chars().collect();
        for (at, c, insert) in edits {
            let index = at.index(chars.len() + 1);
            if insert || index == chars.len() {
                chars.insert(index, c);
            } else {
                chars.remove(index);
            }
        }
        let text: String = chars.into_iter().collect();
        if let Ok(condition) = Condition::parse(&text) {
            prop_assert_eq!(Condition::parse(&condition.to_string()), Ok(condition));
        }
    }

    #[test]
    fn numeric_evaluation_agrees_with_i128(
        value in any::<i128>(),
        literal in prop_oneof![any::<i128>(), -3i128..3, Just(i128::MIN), Just(i128::MAX)],
        near in any::<bool>(),
        op in op(),
        unsigned in any::<bool>(),
        hex in any::<bool>(),
    ) {
        // Half the time compare with a neighbour, where off-by-one mistakes show.
        let literal = if near { value.saturating_add(literal.signum()) } else { literal };
        let condition = Condition::parse(&format!("x {op} {}", numeric_literal(literal, hex))).unwrap();
        let args = [("x".to_owned(), numeric_value(value, unsigned))];
        prop_assert_eq!(condition.matches(&args), reference(value, op, literal), "{} with x = {}", condition, value);
        let negated = Condition::parse(&format!("not ({condition})")).unwrap();
        prop_assert_eq!(negated.matches(&args), !reference(value, op, literal));
        let types = [("x".to_owned(), if unsigned && value >= 0 { "uint256" } else { "int256" }.to_owned())];
        if !(types[0].1 == "uint256" && literal < 0) {
            prop_assert!(condition.check(&types).is_ok(), "{}", condition);
        }
    }

    #[test]
    fn decode_number_never_panics(
        call in prop::sample::select(calls()),
        data in prop_oneof![prop::collection::vec(any::<u8>(), 0..300), data_words()],
        index in 0usize..6,
        decimals in prop_oneof![0u32..40, any::<u32>()],
    ) {
        match call.decode_number(&data, index, decimals) {
            Ok(number) => prop_assert!(!number.is_nan()),
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
        let _ = call.decode(&data);
    }

    #[test]
    fn event_decode_never_panics(
        event in prop::sample::select(events()),
        first_is_topic0 in any::<bool>(),
        topics in prop::collection::vec(any::<[u8; 32]>().prop_map(B256::from), 0..6),
        data in prop_oneof![prop::collection::vec(any::<u8>(), 0..300), data_words()],
    ) {
        let mut topics = topics;
        if first_is_topic0 && !topics.is_empty() {
            topics[0] = event.topic0();
        }
        match event.decode(&topics, &data) {
            Ok(args) => {
                prop_assert_eq!(args.len(), event.arg_names().len());
                for (_, value) in &args {
                    let _ = value.to_string();
                }
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }

    #[test]
    fn signatures_and_abis_never_panic(text in prop_oneof![hostile_signature(), any::<String>()], args in prop::collection::vec(prop_oneof![Just("self".to_owned()), "[-0-9a-fx\\[\\](), ]{0,20}", any::<String>()], 0..4)) {
        if let Ok(call) = CallSpec::parse(&text, None) {
            let _ = call.check_args(&args);
            let _ = call.encode(&args, alloy_primitives::Address::ZERO);
        }
        if let Ok(event) = EventSpec::parse(&text, None) {
            let _ = event.decode(&[event.topic0()], &[]);
        }
        let _ = abi::parse_abi(&text, "fuzz");
    }

    #[test]
    fn abi_json_never_panics(
        name in "[a-z]{1,3}",
        ty in prop::sample::select(vec!["uint256", "tuple", "tuple[]", "uint256[99999999999999]", "bytes33", "int0", "string", "", "address[3][3]"]),
        indexed in any::<bool>(),
        nested in 0usize..40,
    ) {
        let mut components = String::from("[]");
        for _ in 0..nested {
            components = format!(r#"[{{"name":"c","type":"tuple","components":{components}}}]"#);
        }
        let text = format!(
            r#"[{{"type":"function","name":"{name}","stateMutability":"view","inputs":[],"outputs":[{{"name":"","type":"{ty}","components":{components}}}]}},
                {{"type":"event","name":"{name}","anonymous":false,"inputs":[{{"name":"a","type":"{ty}","indexed":{indexed},"components":{components}}}]}}]"#
        );
        if let Ok(parsed) = abi::parse_abi(&text, "gen") {
            if let Ok(call) = CallSpec::parse(&name, Some(&parsed)) {
                let _ = call.decode_number(&[0; 64], 0, 0);
            }
            if let Ok(event) = EventSpec::parse(&name, Some(&parsed)) {
                let _ = event.decode(&[event.topic0(), B256::ZERO], &[0; 64]);
            }
        }
    }
}
