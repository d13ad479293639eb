//! Tests of [`super`]: typical and hostile inputs, and every error message's shape.
use super::*;
use alloy_primitives::I256;
use std::fmt;

const ERC20: &str = r#"[
    {"type":"function","name":"balanceOf","stateMutability":"view",
     "inputs":[{"name":"owner","type":"address"}],"outputs":[{"name":"","type":"uint256"}]},
    {"type":"function","name":"transfer","stateMutability":"nonpayable",
     "inputs":[{"name":"to","type":"address"},{"name":"value","type":"uint256"}],"outputs":[{"name":"","type":"bool"}]},
    {"type":"function","name":"transfer","stateMutability":"nonpayable",
     "inputs":[{"name":"to","type":"address"},{"name":"value","type":"uint256"},{"name":"data","type":"bytes"}],"outputs":[{"name":"","type":"bool"}]},
    {"type":"function","name":"pause","stateMutability":"nonpayable","inputs":[],"outputs":[]},
    {"type":"function","name":"name","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"string"}]},
    {"type":"function","name":"paused","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"bool"}]},
    {"type":"function","name":"latestRoundData","stateMutability":"view","inputs":[],
     "outputs":[{"name":"roundId","type":"uint80"},{"name":"answer","type":"int256"},{"name":"startedAt","type":"uint256"},
                {"name":"updatedAt","type":"uint256"},{"name":"answeredInRound","type":"uint80"}]},
    {"type":"event","name":"Transfer","anonymous":false,"inputs":[
        {"name":"from","type":"address","indexed":true},{"name":"to","type":"address","indexed":true},
        {"name":"value","type":"uint256","indexed":false}]},
    {"type":"event","name":"Note","anonymous":false,"inputs":[
        {"name":"","type":"string","indexed":true},{"name":"","type":"bytes32","indexed":false}]},
    {"type":"event","name":"Note","anonymous":false,"inputs":[{"name":"x","type":"uint8","indexed":false}]},
    {"type":"event","name":"Secret","anonymous":true,"inputs":[{"name":"x","type":"uint8","indexed":false}]}
]"#;

fn erc20() -> JsonAbi {
    parse_abi(ERC20, "erc20.json").unwrap()
}

fn word(value: u64) -> Vec<u8> {
    U256::from(value).to_be_bytes::<32>().to_vec()
}

fn err<T: fmt::Debug>(result: Result<T, AbiError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn abi_forms() {
    let abi = erc20();
    assert!(abi.function("balanceOf").is_some());
    let artifact = format!(r#"{{"_format":"hh-sol-artifact-1","abi":{ERC20},"bytecode":"0x00"}}"#);
    assert_eq!(parse_abi(&artifact, "a.json").unwrap(), abi);
    let stringly = serde_json::json!({ "abi": ERC20 }).to_string();
    assert_eq!(parse_abi(&stringly, "b.json").unwrap(), abi);
    assert!(parse_abi("[]", "empty.json").unwrap().is_empty());
}

#[test]
fn abi_errors() {
    assert_eq!(
        err(parse_abi(r#"{"contracts":{}}"#, "abis/Bridge.json")),
        "abis/Bridge.json: not a JSON ABI or an artifact with an \"abi\" field"
    );
    for text in [
        "3",
        "\"x\"",
        r#"{"abi":3}"#,
        r#"{"abi":"{}"}"#,
        r#"{"abi":"nope"}"#,
    ] {
        assert!(
            matches!(parse_abi(text, "x"), Err(AbiError::NotAbi { .. })),
            "{text}"
        );
    }
    assert!(err(parse_abi("[", "abis/X.json")).starts_with("abis/X.json: not valid JSON: "));
    let bad = err(parse_abi(
        r#"[{"type":"function","name":3}]"#,
        "abis/Y.json",
    ));
    assert!(bad.starts_with("abis/Y.json: invalid ABI: "), "{bad}");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_abi(&deep, "deep").is_err());
    let missing = err(load_abi(Path::new("/nonexistent/abi.json")));
    assert!(
        missing.starts_with("/nonexistent/abi.json: cannot read it: "),
        "{missing}"
    );
}

#[test]
fn load_abi_reads_files() {
    let dir = std::env::temp_dir().join(format!("vigil-abi-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("erc20.json");
    std::fs::write(&path, ERC20).unwrap();
    assert_eq!(load_abi(&path).unwrap(), erc20());
    std::fs::write(&path, [0xff, 0xfe]).unwrap();
    assert!(err(load_abi(&path)).contains("not UTF-8"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn call_from_signature() {
    let call = CallSpec::parse("balanceOf(address)(uint256)", None).unwrap();
    assert_eq!(call.signature(), "balanceOf(address)");
    assert_eq!(call.signature_with_outputs(), "balanceOf(address)(uint256)");
    assert_eq!(call.selector(), [0x70, 0xa0, 0x82, 0x31]);
    assert_eq!(call.input_count(), 1);
    assert_eq!(call.name(), "balanceOf");
    let human = CallSpec::parse(
        "function balanceOf(address who) view returns (uint256)",
        None,
    )
    .unwrap();
    assert_eq!(human.signature(), "balanceOf(address)");
    assert_eq!(human.output_types(), ["uint256"]);
    let feed = CallSpec::parse(
        "latestRoundData()(uint80,int256,uint256,uint256,uint80)",
        None,
    )
    .unwrap();
    assert_eq!(feed.selector(), [0xfe, 0xaf, 0x96, 0x8c]);
    assert_eq!(feed.input_count(), 0);
}

#[test]
fn call_from_abi() {
    let abi = erc20();
    let by_name = CallSpec::parse("balanceOf", Some(&abi)).unwrap();
    assert_eq!(by_name.signature(), "balanceOf(address)");
    assert_eq!(by_name.output_types(), ["uint256"]);
    let by_signature = CallSpec::parse("transfer(address,uint256,bytes)", Some(&abi)).unwrap();
    assert_eq!(by_signature.input_count(), 3);
    // A full signature the ABI agrees with, or lacks, is fine.
    assert!(CallSpec::parse("balanceOf(address)(uint256)", Some(&abi)).is_ok());
    assert!(CallSpec::parse("totalSupply()(uint256)", Some(&abi)).is_ok());
}

#[test]
fn call_errors() {
    let abi = erc20();
    assert_eq!(
        err(CallSpec::parse("balanceOf(address)", None)),
        "call \"balanceOf(address)\": no return type; write it as \"balanceOf(address)(uint256)\" or give the contract an abi"
    );
    assert_eq!(
        err(CallSpec::parse("withdraw", Some(&abi))),
        "function \"withdraw\" is not in the ABI (it has: balanceOf, latestRoundData, name, pause, paused, transfer)"
    );
    assert_eq!(
        err(CallSpec::parse("withdraw", Some(&JsonAbi::new()))),
        "function \"withdraw\" is not in the ABI (it has no functions)"
    );
    assert_eq!(
        err(CallSpec::parse("balanceOf(uint256)", Some(&abi))),
        "function \"balanceOf(uint256)\" is not in the ABI (it has: balanceOf(address), latestRoundData(), name(), pause(), paused(), transfer(address,uint256), transfer(address,uint256,bytes))"
    );
    assert_eq!(
        err(CallSpec::parse("transfer", Some(&abi))),
        "function \"transfer\" is overloaded in the ABI (transfer(address,uint256), transfer(address,uint256,bytes)): give the full signature"
    );
    assert_eq!(
        err(CallSpec::parse("balanceOf(address)(uint128)", Some(&abi))),
        "call \"balanceOf(address)(uint128)\" does not match the ABI, which declares balanceOf(address)(uint256)"
    );
    assert_eq!(
        err(CallSpec::parse("balanceOf", None)),
        "call \"balanceOf\": a bare name needs the contract's abi; without one write the full signature, e.g. \"balanceOf(address)(uint256)\""
    );
    assert_eq!(
        err(CallSpec::parse("pause", Some(&abi))),
        "call \"pause()\": the function returns nothing, there is no value to read"
    );
    assert_eq!(
        err(CallSpec::parse("bad name", None)),
        "call \"bad name\": not a function name or signature"
    );
    assert_eq!(err(CallSpec::parse("  ", None)), "call \"\": empty");
    assert!(
        err(CallSpec::parse("f(uint256", None))
            .starts_with("call \"f(uint256\": not a valid function signature: ")
    );
    assert!(err(CallSpec::parse("f()(uint7)", None)).starts_with("function \"f()\": "));
    assert!(err(CallSpec::parse(&"f".repeat(5000), None)).contains("longer than 4096 bytes"));
    let huge = err(CallSpec::parse("f()(uint256[100000000])", None));
    assert!(huge.contains("too large or nested too deeply"), "{huge}");
    let many = err(CallSpec::parse("f()(uint256[4000],uint256[4000])", None));
    assert!(many.contains("more than 4096 words"), "{many}");
    let deep = format!("f()({}uint256{})", "(".repeat(20), ")".repeat(20));
    assert!(CallSpec::parse(&deep, None).is_err());
    let deeper = format!("f()({}uint256{})", "(".repeat(2000), ")".repeat(2000));
    assert!(CallSpec::parse(&deeper, None).is_err());
}

#[test]
fn encode_and_check_args() {
    let call = CallSpec::parse("balanceOf(address)(uint256)", None).unwrap();
    let me = Address::repeat_byte(0x11);
    let data = call.encode(&["self".into()], me).unwrap();
    assert_eq!(data.len(), 36);
    assert_eq!(data[..4], call.selector());
    assert_eq!(data[16..], me[..]);
    let other = "0x2222222222222222222222222222222222222222";
    let data = call.encode(&[format!(" {other} ")], me).unwrap();
    assert_eq!(data[16..], [0x22; 20]);
    assert!(call.check_args(&["self".into()]).is_ok());
    assert_eq!(
        err(call.check_args(&[])),
        "expected 1 argument for balanceOf(address), got 0"
    );
    assert_eq!(
        err(call.check_args(&["0x12".into()])),
        "args[0]: \"0x12\" is not an address"
    );

    let transfer = CallSpec::parse("transfer(address,uint256)(bool)", None).unwrap();
    assert_eq!(
        err(transfer.check_args(&["self".into()])),
        "expected 2 arguments for transfer(address,uint256), got 1"
    );
    assert_eq!(
        err(transfer.check_args(&["self".into(), "abc".into()])),
        "args[1]: \"abc\" is not a uint256"
    );
    assert_eq!(
        err(transfer.check_args(&["self".into(), "self".into()])),
        "args[1]: \"self\" (the contract's own address) needs an address parameter, this one is a uint256"
    );
    let data = transfer
        .encode(&["self".into(), "1000".into()], me)
        .unwrap();
    assert_eq!(data[36..], word(1000)[..]);
    let long = "9".repeat(MAX_ARG_BYTES + 1);
    let message = err(transfer.check_args(&["self".into(), long]));
    assert!(message.starts_with("args[1]: \"9999") && message.ends_with("…\" is not a uint256"));

    let mixed = CallSpec::parse("f(int8,bool,bytes32,string,uint256[])(uint256)", None).unwrap();
    let args: Vec<String> = [
        "-5",
        "true",
        &format!("0x{}", "ab".repeat(32)),
        "hello",
        "[1,2,3]",
    ]
    .map(String::from)
    .to_vec();
    assert!(mixed.encode(&args, me).is_ok());
    let mut bad = args.clone();
    bad[0] = "200".into();
    assert_eq!(
        err(mixed.check_args(&bad)),
        "args[0]: \"200\" is not an int8"
    );
}

#[test]
fn decode_outputs() {
    let call = CallSpec::parse("balanceOf(address)(uint256)", None).unwrap();
    let values = call.decode(&word(42)).unwrap();
    assert_eq!(values, [DynSolValue::Uint(U256::from(42), 256)]);
    assert_eq!(call.decode_number(&word(42), 0, 0).unwrap(), 42.0);
    assert_eq!(call.decode_number(&word(1_500_000), 0, 6).unwrap(), 1.5);
    assert_eq!(
        err(call.decode(&[])),
        "no contract code at the called address (empty return data)"
    );
    assert_eq!(
        err(call.decode_number(&[], 0, 0)),
        "no contract code at the called address (empty return data)"
    );
    assert_eq!(
        err(call.decode(&[1, 2, 3])),
        "return data is 3 bytes, not a valid uint256"
    );
    assert_eq!(
        err(call.decode_number(&word(1), 1, 0)),
        "balanceOf(address)(uint256) returns 1 value; there is no output 1"
    );

    let feed = CallSpec::parse(
        "latestRoundData()(uint80,int256,uint256,uint256,uint80)",
        None,
    )
    .unwrap();
    let mut data = word(7);
    data.extend("-123456789".parse::<I256>().unwrap().to_be_bytes::<32>());
    data.extend(word(1));
    data.extend(word(2));
    data.extend(word(7));
    assert_eq!(feed.decode(&data).unwrap().len(), 5);
    assert_eq!(feed.decode_number(&data, 1, 8).unwrap(), -1.23456789);
    assert_eq!(feed.decode_number(&data, 0, 0).unwrap(), 7.0);
    assert_eq!(
        err(feed.decode(&data[..40])),
        "return data is 40 bytes, not a valid (uint80,int256,uint256,uint256,uint80)"
    );

    let name = CallSpec::parse("name()(string)", None).unwrap();
    assert_eq!(
        err(name.decode_number(&word(0), 0, 0)),
        "output 0 of name()(string) is a string, not a number or a bool"
    );
    assert_eq!(
        err(name.check_number_output(0)),
        "output 0 of name()(string) is a string, not a number or a bool"
    );
    let paused = CallSpec::parse("paused()(bool)", None).unwrap();
    assert_eq!(paused.decode_number(&word(1), 0, 18).unwrap(), 1.0);
    assert_eq!(paused.decode_number(&word(0), 0, 18).unwrap(), 0.0);
    // alloy reads any non-zero word as true.
    assert_eq!(paused.decode_number(&word(2), 0, 0).unwrap(), 1.0);
}

#[test]
fn decode_number_full_range() {
    let call = CallSpec::parse("f()(uint256)", None).unwrap();
    let max = vec![0xff; 32];
    let value = call.decode_number(&max, 0, 18).unwrap();
    assert!(
        (value / 1.157_920_892_373_162e59 - 1.0).abs() < 1e-15,
        "{value}"
    );
    assert_eq!(call.decode_number(&max, 0, 0).unwrap(), 2f64.powi(256));
    assert_eq!(call.decode_number(&max, 0, u32::MAX).unwrap(), 0.0);
    // 2^64 + 1 in wei: exact decimal, one rounding.
    let mut data = vec![0; 32];
    data[23] = 1;
    data[31] = 1;
    assert_eq!(
        call.decode_number(&data, 0, 18).unwrap(),
        "18.446744073709551617".parse::<f64>().unwrap()
    );
    let signed = CallSpec::parse("f()(int256)", None).unwrap();
    let mut min = vec![0; 32];
    min[0] = 0x80;
    assert_eq!(signed.decode_number(&min, 0, 0).unwrap(), -(2f64.powi(255)));
    assert_eq!(signed.decode_number(&max, 0, 2).unwrap(), -0.01);
    // Hostile types in an ABI are refused before anything is decoded.
    let abi = parse_abi(
        r#"[{"type":"function","name":"f","inputs":[],"outputs":[{"name":"","type":"uint256[99999999999]"}]}]"#,
        "x",
    )
    .unwrap();
    assert!(CallSpec::parse("f", Some(&abi)).is_err());
}

fn transfer_log(from: u8, to: u8, value: u64) -> (Vec<B256>, Vec<u8>) {
    let event = EventSpec::parse(
        "Transfer(address indexed from, address indexed to, uint256 value)",
        None,
    )
    .unwrap();
    let topics = vec![
        event.topic0(),
        Address::repeat_byte(from).into_word(),
        Address::repeat_byte(to).into_word(),
    ];
    (topics, word(value))
}

#[test]
fn event_from_signature() {
    let event = EventSpec::parse(
        "event Transfer(address indexed from, address indexed to, uint256 value)",
        None,
    )
    .unwrap();
    assert_eq!(event.name(), "Transfer");
    assert_eq!(event.signature(), "Transfer(address,address,uint256)");
    assert_eq!(
        event.topic0().to_string(),
        "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    );
    assert_eq!(event.arg_names(), ["from", "to", "value"]);
    assert_eq!(event.topic_count(), 3);
    let (topics, data) = transfer_log(0xaa, 0xbb, 5);
    let args = event.decode(&topics, &data).unwrap();
    assert_eq!(
        args,
        [
            (
                "from".to_string(),
                Value::Address(Address::repeat_byte(0xaa))
            ),
            ("to".to_string(), Value::Address(Address::repeat_byte(0xbb))),
            ("value".to_string(), Value::Uint(U256::from(5))),
        ]
    );
    let unnamed = EventSpec::parse("Withdrawal(address indexed, uint256)", None).unwrap();
    assert_eq!(unnamed.arg_names(), ["arg0", "arg1"]);
    assert_eq!(
        unnamed.arg_types(),
        [
            ("arg0".to_string(), "address".to_string()),
            ("arg1".to_string(), "uint256".to_string())
        ]
    );
}

#[test]
fn event_from_abi() {
    let abi = erc20();
    let by_name = EventSpec::parse("Transfer", Some(&abi)).unwrap();
    assert_eq!(
        by_name.full_signature(),
        "event Transfer(address indexed from, address indexed to, uint256 value)"
    );
    // Types only: the ABI supplies names and indexed markers.
    let by_types = EventSpec::parse("Transfer(address,address,uint256)", Some(&abi)).unwrap();
    assert_eq!(by_types, by_name);
    let note = EventSpec::parse("Note(string,bytes32)", Some(&abi)).unwrap();
    assert_eq!(note.arg_names(), ["arg0", "arg1"]);
    assert_eq!(
        note.arg_types()[0].1,
        "string (indexed: only its keccak256 hash is logged)"
    );
    let hash = B256::repeat_byte(0x5a);
    let mut data = vec![0x01; 32];
    let args = note.decode(&[note.topic0(), hash], &data).unwrap();
    assert_eq!(args[0].1, Value::Other(hash.to_string()));
    assert_eq!(args[1].1, Value::Bytes(vec![0x01; 32]));
    data.pop();
    assert!(note.decode(&[note.topic0(), hash], &data).is_err());
}

#[test]
fn event_errors() {
    let abi = erc20();
    assert_eq!(
        err(EventSpec::parse("Note", Some(&abi))),
        "event \"Note\" is overloaded in the ABI (Note(string,bytes32), Note(uint8)): give the full signature"
    );
    assert_eq!(
        err(EventSpec::parse("Paused", Some(&abi))),
        "event \"Paused\" is not in the ABI (it has: Note, Secret, Transfer)"
    );
    assert_eq!(
        err(EventSpec::parse("Secret", Some(&abi))),
        "event \"Secret(uint8)\" is anonymous; anonymous events (no topic0) are not supported"
    );
    assert_eq!(
        err(EventSpec::parse(
            "Transfer(address indexed, address, uint256 indexed)",
            Some(&abi)
        )),
        "event \"Transfer(address indexed, address, uint256 indexed)\" does not match the ABI, which declares event Transfer(address indexed from, address indexed to, uint256 value)"
    );
    assert_eq!(
        err(EventSpec::parse("Transfer", None)),
        "event \"Transfer\": a bare name needs the contract's abi; without one write the full signature, e.g. \"Transfer(address indexed from, address indexed to, uint256 value)\""
    );
    assert!(
        err(EventSpec::parse(
            "E(uint256 indexed a, uint256 indexed b, uint256 indexed c, uint256 indexed d)",
            None
        ))
        .ends_with("4 indexed arguments; a log has at most 3")
    );
    assert!(
        err(EventSpec::parse("E(uint256", None))
            .starts_with("event \"E(uint256\": not a valid event signature: ")
    );
    assert!(
        err(EventSpec::parse("E()(uint256)", None))
            .starts_with("event \"E()(uint256)\": not a valid event signature: ")
    );
    assert_eq!(
        err(EventSpec::parse("-", None)),
        "event \"-\": not an event name or signature"
    );
    assert_eq!(
        err(EventSpec::parse("event E(uint256 x) anonymous", None)),
        "event \"E(uint256)\" is anonymous; anonymous events (no topic0) are not supported"
    );
}

#[test]
fn log_errors() {
    let event = EventSpec::parse(
        "Transfer(address indexed from, address indexed to, uint256 value)",
        None,
    )
    .unwrap();
    let (topics, data) = transfer_log(1, 2, 3);
    assert_eq!(
        err(event.decode(&[], &data)),
        "log does not match Transfer(address,address,uint256): the log has no topics"
    );
    assert_eq!(
        err(event.decode(&topics[..2], &data)),
        "log does not match Transfer(address,address,uint256): expected 3 topics (topic0 and 2 indexed arguments), got 2"
    );
    let mut wrong = topics.clone();
    wrong[0] = B256::ZERO;
    assert!(err(event.decode(&wrong, &data)).contains("its topic0 is 0x0000"));
    let short = err(event.decode(&topics, &data[..31]));
    assert!(
        short.starts_with(
            "log does not match Transfer(address,address,uint256): 31 bytes of data: "
        ),
        "{short}"
    );
    // An address topic with dirty high bytes is still an address (alloy takes the low 20).
    let mut dirty = topics.clone();
    dirty[1] = B256::repeat_byte(0xff);
    assert!(event.decode(&dirty, &data).is_ok());
}

#[test]
fn value_display() {
    assert_eq!(Value::Uint(U256::MAX).to_string(), U256::MAX.to_string());
    assert_eq!(Value::Int(I256::MINUS_ONE).to_string(), "-1");
    assert_eq!(
        Value::Address(Address::repeat_byte(0xAB)).to_string(),
        format!("0x{}", "ab".repeat(20))
    );
    assert_eq!(Value::Bytes(vec![0xde, 0xad]).to_string(), "0xdead");
    assert_eq!(Value::Bool(true).to_string(), "true");
    assert_eq!(Value::String("x y".into()).to_string(), "x y");
    let array = DynSolValue::Array(vec![
        DynSolValue::Uint(U256::from(1), 8),
        DynSolValue::Tuple(vec![
            DynSolValue::Bool(false),
            DynSolValue::String("s".into()),
        ]),
    ]);
    assert_eq!(
        Value::from_dyn(&array),
        Value::Other("[1, (false, s)]".into())
    );
    let big = DynSolValue::Array(vec![DynSolValue::Uint(U256::MAX, 256); 1000]);
    let Value::Other(text) = Value::from_dyn(&big) else {
        panic!()
    };
    assert!(text.len() <= MAX_OTHER_TEXT + 4 && text.ends_with('…'));
}
