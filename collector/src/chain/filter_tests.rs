//! Tests of [`super`]: typical and hostile inputs, and every error message's shape.
use super::*;
use alloy_primitives::I256;

fn parse(text: &str) -> Condition {
    Condition::parse(text).unwrap_or_else(|error| panic!("{text:?}: {error}"))
}

fn error(text: &str) -> String {
    Condition::parse(text).unwrap_err().to_string()
}

fn types() -> Vec<(String, String)> {
    [
        ("from", "address"),
        ("to", "address"),
        ("amount", "uint256"),
        ("small", "uint8"),
        ("delta", "int128"),
        ("flag", "bool"),
        ("role", "bytes32"),
        ("data", "bytes"),
        ("reason", "string"),
        ("ids", "uint256[]"),
    ]
    .map(|(name, ty)| (name.to_owned(), ty.to_owned()))
    .to_vec()
}

fn values() -> Vec<(String, Value)> {
    vec![
        ("from".into(), Value::Address(Address::ZERO)),
        ("to".into(), Value::Address(Address::repeat_byte(0xab))),
        ("amount".into(), Value::Uint(U256::from(2_000_000_000u64))),
        ("small".into(), Value::Uint(U256::from(7))),
        ("delta".into(), Value::Int(I256::try_from(-5).unwrap())),
        ("flag".into(), Value::Bool(true)),
        ("role".into(), Value::Bytes(vec![0; 32])),
        ("data".into(), Value::Bytes(vec![0xde, 0xad])),
        ("reason".into(), Value::String("exploit \"x\"".into())),
        ("ids".into(), Value::Other("[1, 2]".into())),
    ]
}

fn check(text: &str) -> Result<(), String> {
    parse(text)
        .check(&types())
        .map_err(|error| error.to_string())
}

fn matches(text: &str) -> bool {
    let condition = parse(text);
    condition
        .check(&types())
        .unwrap_or_else(|error| panic!("{text}: {error}"));
    condition.matches(&values())
}

#[test]
fn parses_the_documented_examples() {
    for text in [
        "amount > 1000000000",
        "to == 0xAbAbabababababababababababababababababab",
        "amount >= 5 and (from != 0x0000000000000000000000000000000000000000 or flag == true)",
        "role == 0x0000000000000000000000000000000000000000000000000000000000000000",
        "reason == \"exploit \\\"x\\\"\"",
        "delta < -4 && !(flag == false) || small <= 7",
    ] {
        let condition = parse(text);
        assert!(condition.check(&types()).is_ok(), "{text}");
        assert!(condition.matches(&values()), "{text}");
        assert_eq!(parse(&condition.to_string()), condition, "{text}");
    }
}

#[test]
fn shape_and_canonical_text() {
    let condition = parse("A > 1 AND b == 0XFF Or NOT c != \"q\"");
    assert_eq!(
        condition.to_string(),
        "A > 1 and b == 0xff or not c != \"q\""
    );
    let Expr::Or(items) = condition.expr() else {
        panic!("{condition:?}")
    };
    assert!(matches!(&items[0], Expr::And(pair) if pair.len() == 2));
    assert!(matches!(&items[1], Expr::Not(_)));
    assert_eq!(
        parse("(a > 1 and b > 2) and c > 3").to_string(),
        "(a > 1 and b > 2) and c > 3"
    );
    assert_eq!(parse("((a > 1))").to_string(), "a > 1");
    assert_eq!(
        parse("not (a > 1 or b > 2)").to_string(),
        "not (a > 1 or b > 2)"
    );
    assert_eq!(parse("not not a>-0").to_string(), "not not a > 0");
    assert_eq!(parse("x==007").to_string(), "x == 7");
    assert_eq!(
        parse("a > 1 or (b > 2 or c > 3)").to_string(),
        "a > 1 or (b > 2 or c > 3)"
    );
    assert_eq!(
        parse("a == 1 and b == 2 or c == 3 and d == 4").to_string(),
        "a == 1 and b == 2 or c == 3 and d == 4"
    );
    assert_eq!(
        parse("notional == \"\\\\\"").to_string(),
        "notional == \"\\\\\""
    );
    assert_eq!(
        parse("a == 1 and b == 2 or c == 3").arguments(),
        ["a", "b", "c"]
    );
    assert_eq!(parse("a == 1 and a == 2").arguments(), ["a"]);
    let min = format!("x >= -{}", int_min_magnitude());
    assert_eq!(parse(&min).to_string(), min);
    let max = format!("x <= {}", U256::MAX);
    assert_eq!(parse(&max).to_string(), max);
}

#[test]
fn syntax_errors() {
    assert_eq!(
        error("x == 1 and amount = 5"),
        "at column 19: expected a comparison operator after \"amount\", found \"=\""
    );
    assert_eq!(
        error("amount"),
        "at column 7: expected a comparison operator after \"amount\", found the end of the condition"
    );
    assert_eq!(
        error("amount >"),
        "at column 9: expected a value (a number, 0x hex, true, false or a \"string\") after \">\", found the end of the condition"
    );
    assert_eq!(
        error("amount > abc"),
        "at column 10: expected a value (a number, 0x hex, true, false or a \"string\") after \">\", found \"abc\""
    );
    assert_eq!(
        error(""),
        "at column 1: expected an argument name, \"(\" or \"not\", found the end of the condition"
    );
    assert_eq!(
        error("5 < amount"),
        "at column 1: expected an argument name, \"(\" or \"not\", found \"5\""
    );
    assert_eq!(
        error("true == flag"),
        "at column 1: expected an argument name, \"(\" or \"not\", found \"true\""
    );
    assert_eq!(
        error("(a > 1"),
        "at column 7: expected \")\" to close the \"(\" at column 1, found the end of the condition"
    );
    assert_eq!(
        error("a > 1)"),
        "at column 6: expected \"and\", \"or\" or the end of the condition, found \")\""
    );
    assert_eq!(
        error("a > 1 b > 2"),
        "at column 7: expected \"and\", \"or\" or the end of the condition, found \"b\""
    );
    assert_eq!(
        error("a > 1 & b > 2"),
        "at column 7: expected \"and\", \"or\" or the end of the condition, found \"&\""
    );
    assert_eq!(error("a == \"abc"), "at column 6: unterminated string");
    assert_eq!(error("a == \"abc\\"), "at column 6: unterminated string");
    assert_eq!(
        error("a == \"a\\nb\""),
        "at column 8: unknown escape \"\\n\" in a string (only \\\" and \\\\)"
    );
    assert_eq!(error("a == 12abc"), "at column 6: invalid number \"12abc\"");
    assert_eq!(error("a == 0x"), "at column 6: invalid number \"0x\"");
    assert_eq!(error("a == 0xfg"), "at column 6: invalid number \"0xfg\"");
    assert_eq!(error("a == -0x1"), "at column 6: invalid number \"-0x1\"");
    assert_eq!(
        error(&format!("a == {}0", U256::MAX)),
        format!("at column 6: {}0 does not fit in 256 bits", U256::MAX)
    );
    assert_eq!(
        error(&format!("a == -{}", int_min_magnitude() + U256::from(1))),
        format!(
            "at column 6: -{} does not fit in 256 bits",
            int_min_magnitude() + U256::from(1)
        )
    );
    assert_eq!(
        error("a == 1 and é == 2"),
        "at column 12: expected an argument name, \"(\" or \"not\", found \"é\""
    );
    let long = format!("a == \"{}\"", "x".repeat(5000));
    assert_eq!(
        error(&long),
        "the condition is 5007 bytes long; at most 4096 are allowed"
    );
    let shown = error(&format!("(a == 1) \"{}\"", "y".repeat(100)));
    assert!(shown.ends_with("yyy…\""), "{shown}");
}

#[test]
fn nesting_is_bounded() {
    let ok = format!("{}a > 1{}", "(".repeat(32), ")".repeat(32));
    assert!(Condition::parse(&ok).is_ok());
    let deep = format!("{}a > 1{}", "(".repeat(33), ")".repeat(33));
    assert_eq!(
        error(&deep),
        "at column 33: nested more than 32 levels deep (parentheses and \"not\")"
    );
    assert!(Condition::parse(&format!("{}a > 1", "not ".repeat(32))).is_ok());
    assert!(Condition::parse(&format!("{}a > 1", "not ".repeat(33))).is_err());
    assert!(Condition::parse(&"!(".repeat(1000)).is_err());
    assert!(Condition::parse(&"(".repeat(4096)).is_err());
}

#[test]
fn check_errors() {
    let names = "the event has: from, to, amount, small, delta, flag, role, data, reason, ids";
    assert_eq!(
        check("amout > 5").unwrap_err(),
        format!("unknown argument \"amout\" ({names})")
    );
    assert_eq!(
        parse("amout > 5").check(&[]).unwrap_err().to_string(),
        "unknown argument \"amout\" (the event has no arguments)"
    );
    assert_eq!(
        check("amount == \"abc\"").unwrap_err(),
        "\"amount\" is a uint256: cannot compare it with \"abc\""
    );
    assert_eq!(
        check("amount > -1").unwrap_err(),
        "\"amount\" is a uint256: cannot compare it with -1 (it is never negative)"
    );
    assert_eq!(
        check("small > 256").unwrap_err(),
        "\"small\" is a uint8: cannot compare it with 256 (out of range)"
    );
    assert!(check("small > 255").is_ok());
    assert!(check("small > 0xff").is_ok());
    assert_eq!(
        check("small > 0x100").unwrap_err(),
        "\"small\" is a uint8: cannot compare it with 0x100 (out of range)"
    );
    assert_eq!(
        check(&format!("amount > 0x1{}", "0".repeat(64))).unwrap_err(),
        format!(
            "\"amount\" is a uint256: cannot compare it with 0x1{} (out of range)",
            "0".repeat(64)
        )
    );
    assert!(check(&format!("amount > 0x{}1", "0".repeat(70))).is_ok());
    let i128_min = format!("-{}", U256::from(1) << 127);
    assert!(check(&format!("delta >= {i128_min}")).is_ok());
    assert_eq!(
        check(&format!("delta >= {i128_min}1")).unwrap_err(),
        format!("\"delta\" is an int128: cannot compare it with {i128_min}1 (out of range)")
    );
    assert!(
        check(&format!(
            "delta < {}",
            (U256::from(1) << 127) - U256::from(1)
        ))
        .is_ok()
    );
    assert!(check(&format!("delta < {}", U256::from(1) << 127)).is_err());
    assert_eq!(
        check("to == 0x12").unwrap_err(),
        "\"to\" is an address: cannot compare it with 0x12 (an address is 0x and 40 hex digits)"
    );
    assert_eq!(
        check("to > 0x0000000000000000000000000000000000000000").unwrap_err(),
        "\"to\" is an address: only == and != apply to it, not >"
    );
    assert_eq!(
        check("to == 5").unwrap_err(),
        "\"to\" is an address: cannot compare it with 5"
    );
    assert_eq!(
        check("flag == 1").unwrap_err(),
        "\"flag\" is a bool: cannot compare it with 1"
    );
    assert_eq!(
        check("flag >= true").unwrap_err(),
        "\"flag\" is a bool: only == and != apply to it, not >="
    );
    assert_eq!(
        check("role == 0x00").unwrap_err(),
        "\"role\" is a bytes32: cannot compare it with 0x00 (a bytes32 is 0x and 64 hex digits)"
    );
    assert_eq!(
        check("data == 0x123").unwrap_err(),
        "\"data\" is a bytes: cannot compare it with 0x123 (bytes take an even number of hex digits)"
    );
    assert!(Condition::parse("data != 0x").is_err());
    assert!(check("data != 0x1234").is_ok());
    assert_eq!(
        check("reason < \"b\"").unwrap_err(),
        "\"reason\" is a string: only == and != apply to it, not <"
    );
    assert_eq!(
        check("ids == 1").unwrap_err(),
        "\"ids\" is a uint256[]: cannot compare it with 1 (only numbers, addresses, bools, bytes and strings can be compared)"
    );
    let topic = [(
        "topic".to_owned(),
        "string (indexed: only its keccak256 hash is logged)".to_owned(),
    )];
    assert_eq!(
        parse("topic == \"x\"")
            .check(&topic)
            .unwrap_err()
            .to_string(),
        "\"topic\" is a string (indexed: only its keccak256 hash is logged): cannot compare it with \"x\""
    );
    // Every comparison is checked, not only the first.
    assert!(check("amount > 1 or not (flag == true and reason == 3)").is_err());
}

#[test]
fn type_names() {
    assert_eq!(type_kind("uint"), TypeKind::Uint(256));
    assert_eq!(type_kind("int"), TypeKind::Int(256));
    assert_eq!(type_kind("uint8"), TypeKind::Uint(8));
    assert_eq!(type_kind("int256"), TypeKind::Int(256));
    assert_eq!(type_kind("bytes1"), TypeKind::FixedBytes(1));
    assert_eq!(type_kind("function"), TypeKind::FixedBytes(24));
    for other in [
        "uint7",
        "uint264",
        "uint08",
        "bytes33",
        "bytes0",
        "bytes01",
        "tuple",
        "",
        "string indexed",
    ] {
        assert_eq!(type_kind(other), TypeKind::Other, "{other}");
    }
}

#[test]
fn evaluation() {
    assert!(matches("amount > 1000000000"));
    assert!(!matches("amount > 2000000000"));
    assert!(matches("amount >= 2000000000 and amount <= 2000000000"));
    assert!(matches("amount == 0x77359400"));
    assert!(matches("small != 8 and small < 0x8"));
    assert!(matches(
        "delta < 0 and delta > -6 and delta == -5 and delta != 5"
    ));
    assert!(matches("delta < 0x1"));
    assert!(matches("to == 0xABABABABABABABABABABABABABABABABABABABAB"));
    assert!(matches("to != 0x0000000000000000000000000000000000000000"));
    assert!(matches(
        "from == 0x0000000000000000000000000000000000000000"
    ));
    assert!(matches("flag == true and flag != false"));
    assert!(matches(
        "role == 0x0000000000000000000000000000000000000000000000000000000000000000"
    ));
    assert!(matches("data == 0xDEAD and data != 0xbeef"));
    assert!(matches("reason == \"exploit \\\"x\\\"\""));
    assert!(!matches("reason != \"exploit \\\"x\\\"\""));
    assert!(matches("not (amount < 5 or flag == false)"));
    assert!(matches("amount < 5 or flag == true"));
    assert!(!matches("amount < 5 and flag == true"));
}

#[test]
fn evaluation_of_mismatched_kinds_is_false() {
    let values = values();
    for text in [
        "missing == 1",
        "missing != 1",
        "to == 5",
        "to != 5",
        "to > 0x0000000000000000000000000000000000000000",
        "flag == 1",
        "reason == 0x00",
        "reason > \"a\"",
        "data == 0x123",
        "data != 0x123",
        "amount == true",
        "amount != \"x\"",
        "ids == 1",
        "ids != 1",
    ] {
        let condition = parse(text);
        assert!(!condition.matches(&values), "{text}");
        assert!(parse(&format!("not ({text})")).matches(&values), "{text}");
    }
}

#[test]
fn exact_256_bit_comparisons() {
    let max = vec![("x".to_owned(), Value::Uint(U256::MAX))];
    assert!(parse(&format!("x == {}", U256::MAX)).matches(&max));
    assert!(parse(&format!("x > {}", U256::MAX - U256::from(1))).matches(&max));
    assert!(parse(&format!("x == 0x{}", "f".repeat(64))).matches(&max));
    assert!(parse(&format!("x < 0x1{}", "0".repeat(64))).matches(&max));
    assert!(parse("x > -1").matches(&max));
    let big_minus_one = vec![("x".to_owned(), Value::Uint(U256::MAX - U256::from(1)))];
    assert!(!parse(&format!("x == {}", U256::MAX)).matches(&big_minus_one));
    let min = vec![("x".to_owned(), Value::Int(I256::MIN))];
    assert!(parse(&format!("x == -{}", int_min_magnitude())).matches(&min));
    assert!(parse("x < 0 and x < -1").matches(&min));
    assert!(!parse(&format!("x > -{}", int_min_magnitude())).matches(&min));
    let int_max = vec![("x".to_owned(), Value::Int(I256::MAX))];
    assert!(parse(&format!("x == {}", int_min_magnitude() - U256::from(1))).matches(&int_max));
    assert!(parse(&format!("x < {}", int_min_magnitude())).matches(&int_max));
    assert!(parse(&format!("x < {}", U256::MAX)).matches(&int_max));
    let zero = vec![("x".to_owned(), Value::Int(I256::ZERO))];
    assert!(parse("x == -0 and x == 0 and x > -1 and x < 1").matches(&zero));
}

#[test]
fn condition_new_validates() {
    let compare = |arg: &str, literal: Literal| {
        Expr::Compare(Comparison {
            arg: arg.into(),
            op: Op::Eq,
            literal,
        })
    };
    let one = || Literal::Number {
        negative: false,
        magnitude: U256::from(1),
    };
    let ok = Expr::Or(vec![
        compare("a", one()),
        Expr::Or(vec![
            compare("b", one()),
            compare("c", Literal::Str("\"".into())),
        ]),
    ]);
    let condition = Condition::new(ok).unwrap();
    assert_eq!(parse(&condition.to_string()), condition);
    for bad in [
        Expr::And(vec![compare("a", one())]),
        Expr::Or(vec![]),
        compare("and", one()),
        compare("1a", one()),
        compare("", one()),
        compare(
            "a",
            Literal::Number {
                negative: true,
                magnitude: U256::ZERO,
            },
        ),
        compare(
            "a",
            Literal::Number {
                negative: true,
                magnitude: U256::MAX,
            },
        ),
        compare("a", Literal::Hex("AB".into())),
        compare("a", Literal::Hex(String::new())),
        compare("a", Literal::Str("x".repeat(5000))),
    ] {
        assert!(Condition::new(bad.clone()).is_err(), "{bad:?}");
    }
    let mut deep = compare("a", one());
    for _ in 0..16 {
        deep = Expr::Not(Box::new(Expr::And(vec![deep.clone(), compare("b", one())])));
    }
    assert!(Condition::new(deep.clone()).is_ok());
    deep = Expr::Not(Box::new(Expr::And(vec![deep, compare("b", one())])));
    assert!(Condition::new(deep).is_err());
}
