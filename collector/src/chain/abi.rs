//! Contract ABIs for chain watching: which function to `eth_call` and how to read what it
//! returns, which event to ask `eth_getLogs` for and how to decode its logs.
//!
//! All ABI work is alloy's (`alloy-json-abi` parses ABIs and signatures, `alloy-dyn-abi` encodes
//! and decodes); this module resolves what the configuration names against an optional ABI file,
//! turns literal arguments into calldata, and explains every failure with what and where. It
//! never panics on hostile input (ABI text, signatures, arguments, return data, logs: see the
//! proptests in `collector/tests/chain_filter_props.rs` and the `chain_where` fuzz target), and
//! it refuses types whose decoding could allocate without bound (huge fixed arrays, deep nesting).

use std::fmt::Write as _;
use std::path::Path;

use alloy_dyn_abi::{DynSolType, DynSolValue, EventExt, FunctionExt, JsonAbiExt, Specifier};
use alloy_json_abi::{Event, Function, JsonAbi};
use alloy_primitives::{Address, B256, U256, hex};

mod value;
pub use value::Value;

/// The largest ABI file or text accepted (compiler artifacts carry bytecode, so a few MiB is
/// ordinary).
pub const MAX_ABI_BYTES: usize = 32 << 20;
/// The longest call or event signature accepted.
pub const MAX_SIGNATURE_BYTES: usize = 4096;
/// The longest literal argument accepted.
pub const MAX_ARG_BYTES: usize = 64 << 10;
/// How deeply arrays and tuples may nest in a parameter type.
pub const MAX_TYPE_DEPTH: usize = 16;
/// The largest static size of a parameter list, in 32-byte words (fixed arrays multiplied out):
/// decoding allocates this much before it reads a byte.
pub const MAX_TYPE_WORDS: usize = 4096;
/// Printed arrays and tuples ([`Value::Other`]) are cut to this many bytes.
pub const MAX_OTHER_TEXT: usize = 1024;

/// What went wrong with an ABI, a call or an event, saying what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbiError {
    #[error("{origin}: cannot read it: {message}")]
    Read { origin: String, message: String },
    #[error("{origin}: {size} bytes is more than the {max} bytes an ABI may have")]
    TooLarge {
        origin: String,
        size: usize,
        max: usize,
    },
    #[error("{origin}: not valid JSON: {message}")]
    Json { origin: String, message: String },
    #[error("{origin}: not a JSON ABI or an artifact with an \"abi\" field")]
    NotAbi { origin: String },
    #[error("{origin}: invalid ABI: {message}")]
    InvalidAbi { origin: String, message: String },
    /// `kind` is "call" or "event".
    #[error("{kind} \"{text}\": {message}")]
    Signature {
        kind: &'static str,
        text: String,
        message: String,
    },
    #[error(
        "call \"{signature}\": no return type; write it as \"{signature}(uint256)\" or give the contract an abi"
    )]
    NoReturnType { signature: String },
    #[error("call \"{signature}\": the function returns nothing, there is no value to read")]
    ReturnsNothing { signature: String },
    /// A bare name needs an ABI to find its types. `kind` is "call" or "event".
    #[error(
        "{kind} \"{name}\": a bare name needs the contract's abi; without one write the full signature, e.g. {example}"
    )]
    NeedsAbi {
        kind: &'static str,
        name: String,
        example: &'static str,
    },
    /// `kind` is "function" or "event"; `available` lists what the ABI has.
    #[error("{kind} \"{name}\" is not in the ABI ({available})")]
    NotInAbi {
        kind: &'static str,
        name: String,
        available: String,
    },
    #[error(
        "{kind} \"{name}\" is overloaded in the ABI ({}): give the full signature",
        candidates.join(", ")
    )]
    Overloaded {
        kind: &'static str,
        name: String,
        candidates: Vec<String>,
    },
    #[error("{kind} \"{text}\" does not match the ABI, which declares {declared}")]
    AbiMismatch {
        kind: &'static str,
        text: String,
        declared: String,
    },
    #[error("{what}: {message}")]
    UnsupportedType { what: String, message: String },
    #[error("event \"{signature}\" is anonymous; anonymous events (no topic0) are not supported")]
    Anonymous { signature: String },
    #[error("expected {expected} argument{} for {signature}, got {got}", plural(*expected))]
    ArgCount {
        signature: String,
        expected: usize,
        got: usize,
    },
    #[error("args[{index}]: \"{value}\" is not a{} {ty}", article(ty))]
    BadArg {
        index: usize,
        value: String,
        ty: String,
    },
    #[error(
        "args[{index}]: \"self\" (the contract's own address) needs an address parameter, this one is a{} {ty}",
        article(ty)
    )]
    SelfNotAddress { index: usize, ty: String },
    #[error("no contract code at the called address (empty return data)")]
    EmptyReturnData,
    #[error("return data is {len} bytes, not a valid {types}")]
    ReturnData { len: usize, types: String },
    #[error("{signature} returns {count} value{}; there is no output {index}", plural(*count))]
    OutputIndex {
        signature: String,
        index: usize,
        count: usize,
    },
    #[error(
        "output {index} of {signature} is a{} {ty}, not a number or a bool",
        article(ty)
    )]
    NotNumber {
        signature: String,
        index: usize,
        ty: String,
    },
    #[error("log does not match {signature}: {message}")]
    Log { signature: String, message: String },
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// "a" or "an" before a Solidity type name: "an address", "an int128", "a uint256".
pub(crate) fn article(ty: &str) -> &'static str {
    match ty.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o') => "n",
        _ => "",
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut with "…".
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Reads an ABI file: a plain JSON ABI array, or an object with an `"abi"` field (solc
/// standard-json contract output, Hardhat/Foundry/Truffle artifacts), whose value may also be a
/// JSON string holding the array.
pub fn load_abi(path: &Path) -> Result<JsonAbi, AbiError> {
    let origin = path.display().to_string();
    let read_error = |error: std::io::Error| AbiError::Read {
        origin: origin.clone(),
        message: error.to_string(),
    };
    let size = std::fs::metadata(path).map_err(read_error)?.len();
    if size > MAX_ABI_BYTES as u64 {
        return Err(AbiError::TooLarge {
            origin,
            size: usize::try_from(size).unwrap_or(usize::MAX),
            max: MAX_ABI_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(read_error)?;
    let text = String::from_utf8(bytes).map_err(|error| AbiError::Read {
        origin: origin.clone(),
        message: format!("not UTF-8 text ({error})"),
    })?;
    parse_abi(&text, &origin)
}

/// [`load_abi`] from text; `origin` names the source in errors.
pub fn parse_abi(text: &str, origin: &str) -> Result<JsonAbi, AbiError> {
    if text.len() > MAX_ABI_BYTES {
        return Err(AbiError::TooLarge {
            origin: origin.to_owned(),
            size: text.len(),
            max: MAX_ABI_BYTES,
        });
    }
    // serde_json limits nesting to 128 levels, so hostile text cannot exhaust the stack.
    let value: serde_json::Value = serde_json::from_str(text).map_err(|error| AbiError::Json {
        origin: origin.to_owned(),
        message: error.to_string(),
    })?;
    let not_abi = || AbiError::NotAbi {
        origin: origin.to_owned(),
    };
    let array = match value {
        serde_json::Value::Array(_) => value,
        serde_json::Value::Object(mut object) => match object.remove("abi") {
            Some(array @ serde_json::Value::Array(_)) => array,
            Some(serde_json::Value::String(inner)) => match serde_json::from_str(&inner) {
                Ok(array @ serde_json::Value::Array(_)) => array,
                _ => return Err(not_abi()),
            },
            _ => return Err(not_abi()),
        },
        _ => return Err(not_abi()),
    };
    serde_json::from_value(array).map_err(|error| AbiError::InvalidAbi {
        origin: origin.to_owned(),
        message: error.to_string(),
    })
}

/// Resolves a parameter list's types and checks they are bounded (depth and static size).
fn resolve_types<'a, P: Specifier<DynSolType> + 'a>(
    params: impl IntoIterator<Item = &'a P>,
    what: impl Fn() -> String,
) -> Result<Vec<DynSolType>, AbiError> {
    let mut types = Vec::new();
    let mut words = 0usize;
    for param in params {
        let ty = param.resolve().map_err(|error| AbiError::UnsupportedType {
            what: what(),
            message: format!("unsupported parameter type: {error}"),
        })?;
        let size = static_words(&ty, 1).ok_or_else(|| AbiError::UnsupportedType {
            what: what(),
            message: format!(
                "type {} is too large or nested too deeply (at most {MAX_TYPE_DEPTH} levels and {MAX_TYPE_WORDS} words)",
                shorten(&ty.sol_type_name(), 200)
            ),
        })?;
        words = words.saturating_add(size);
        if words > MAX_TYPE_WORDS {
            return Err(AbiError::UnsupportedType {
                what: what(),
                message: format!("the parameters are more than {MAX_TYPE_WORDS} words"),
            });
        }
        types.push(ty);
    }
    Ok(types)
}

/// The static (head) size of a type in words, or `None` when it or any part of it is larger
/// than [`MAX_TYPE_WORDS`] or nests deeper than [`MAX_TYPE_DEPTH`].
fn static_words(ty: &DynSolType, depth: usize) -> Option<usize> {
    if depth > MAX_TYPE_DEPTH {
        return None;
    }
    let words = match ty {
        DynSolType::Array(inner) => {
            static_words(inner, depth + 1)?;
            1
        }
        DynSolType::FixedArray(inner, size) => {
            static_words(inner, depth + 1)?.checked_mul(*size)?
        }
        DynSolType::Tuple(inner) => {
            let mut sum = 0usize;
            for ty in inner {
                sum = sum.checked_add(static_words(ty, depth + 1)?)?;
            }
            sum
        }
        // Words, bytes and strings take one head word; eip712 structs (if alloy's `eip712`
        // feature is on somewhere in the build) are tuples underneath.
        other => match other.as_tuple() {
            Some(inner) => {
                let mut sum = 0usize;
                for ty in inner {
                    sum = sum.checked_add(static_words(ty, depth + 1)?)?;
                }
                sum
            }
            None => 1,
        },
    };
    (words <= MAX_TYPE_WORDS).then_some(words)
}

/// `(t1,t2,...)` or `t1` for a single type.
fn type_list(types: &[DynSolType]) -> String {
    if types.len() == 1 {
        return types[0].sol_type_name().into_owned();
    }
    let names: Vec<String> = types
        .iter()
        .map(|ty| ty.sol_type_name().into_owned())
        .collect();
    format!("({})", names.join(","))
}

/// "it has: a, b, c" or "it has none", the names sorted and deduplicated, at most 20.
fn available(names: impl Iterator<Item = String>, kind: &str) -> String {
    let mut names: Vec<String> = names.collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return format!("it has no {kind}s");
    }
    let more = names.len().saturating_sub(20);
    names.truncate(20);
    let mut list = names.join(", ");
    if more > 0 {
        let _ = write!(list, ", and {more} more");
    }
    format!("it has: {list}")
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

fn check_signature_text(kind: &'static str, text: &str) -> Result<(), AbiError> {
    if text.len() > MAX_SIGNATURE_BYTES {
        return Err(AbiError::Signature {
            kind,
            text: shorten(text, 60),
            message: format!("longer than {MAX_SIGNATURE_BYTES} bytes"),
        });
    }
    if text.is_empty() {
        return Err(AbiError::Signature {
            kind,
            text: String::new(),
            message: "empty".into(),
        });
    }
    Ok(())
}

/// A function to `eth_call`: its signature, input types (for the calldata) and output types
/// (to read what it returns).
#[derive(Debug, Clone, PartialEq)]
pub struct CallSpec {
    function: Function,
    inputs: Vec<DynSolType>,
    outputs: Vec<DynSolType>,
}

impl CallSpec {
    /// `call` is a Solidity signature with its return types (`"balanceOf(address)(uint256)"`,
    /// `"latestRoundData()(uint80,int256,uint256,uint256,uint80)"`, also
    /// `"function balanceOf(address) view returns (uint256)"`), or a bare function name or a
    /// signature without outputs, resolved in `abi`. A signature with outputs that the ABI
    /// declares with different outputs is an error; one the ABI lacks is used as written.
    pub fn parse(call: &str, abi: Option<&JsonAbi>) -> Result<Self, AbiError> {
        let text = call.trim();
        check_signature_text("call", text)?;
        let function = if text.contains('(') {
            let parsed = Function::parse(text).map_err(|error| AbiError::Signature {
                kind: "call",
                text: text.to_owned(),
                message: format!("not a valid function signature: {error}"),
            })?;
            let signature = parsed.signature();
            let declared = abi.and_then(|abi| {
                abi.function(&parsed.name)
                    .and_then(|overloads| overloads.iter().find(|f| f.signature() == signature))
            });
            match (declared, parsed.outputs.is_empty()) {
                (Some(declared), false) => {
                    let what = || format!("call \"{text}\"");
                    let ours = resolve_types(&parsed.outputs, what)?;
                    let theirs = resolve_types(&declared.outputs, || {
                        format!("function \"{}\" in the ABI", declared.signature())
                    })?;
                    if ours != theirs {
                        return Err(AbiError::AbiMismatch {
                            kind: "call",
                            text: text.to_owned(),
                            declared: declared.signature_with_outputs(),
                        });
                    }
                    declared.clone()
                }
                (Some(declared), true) => declared.clone(),
                (None, false) => parsed,
                (None, true) => match abi {
                    None => return Err(AbiError::NoReturnType { signature }),
                    Some(abi) => {
                        return Err(AbiError::NotInAbi {
                            kind: "function",
                            name: signature,
                            available: available(
                                abi.functions().map(|f| f.signature()),
                                "function",
                            ),
                        });
                    }
                },
            }
        } else {
            if !is_identifier(text) {
                return Err(AbiError::Signature {
                    kind: "call",
                    text: text.to_owned(),
                    message: "not a function name or signature".into(),
                });
            }
            let Some(abi) = abi else {
                return Err(AbiError::NeedsAbi {
                    kind: "call",
                    name: text.to_owned(),
                    example: "\"balanceOf(address)(uint256)\"",
                });
            };
            match abi.function(text).map(Vec::as_slice) {
                Some([function]) => function.clone(),
                Some(overloads) if !overloads.is_empty() => {
                    return Err(AbiError::Overloaded {
                        kind: "function",
                        name: text.to_owned(),
                        candidates: overloads.iter().map(Function::signature).collect(),
                    });
                }
                _ => {
                    return Err(AbiError::NotInAbi {
                        kind: "function",
                        name: text.to_owned(),
                        available: available(abi.functions().map(|f| f.name.clone()), "function"),
                    });
                }
            }
        };
        let what = || format!("function \"{}\"", function.signature());
        let inputs = resolve_types(&function.inputs, what)?;
        let outputs = resolve_types(&function.outputs, what)?;
        if outputs.is_empty() {
            return Err(AbiError::ReturnsNothing {
                signature: function.signature(),
            });
        }
        Ok(Self {
            function,
            inputs,
            outputs,
        })
    }

    /// `"balanceOf(address)"`: the selector's preimage.
    pub fn signature(&self) -> String {
        self.function.signature()
    }

    /// `"balanceOf(address)(uint256)"`.
    pub fn signature_with_outputs(&self) -> String {
        self.function.signature_with_outputs()
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.function.name
    }

    pub fn selector(&self) -> [u8; 4] {
        self.function.selector().0
    }

    pub fn input_count(&self) -> usize {
        self.inputs.len()
    }

    /// How many values the function returns (at least 1: functions returning nothing are
    /// refused at parse).
    pub fn output_count(&self) -> usize {
        self.outputs.len()
    }

    /// The output types, as Solidity names (`"uint256"`, `"(uint256,address)"`).
    pub fn output_types(&self) -> Vec<String> {
        self.outputs
            .iter()
            .map(|ty| ty.sol_type_name().into_owned())
            .collect()
    }

    /// Encodes calldata: selector and arguments. `args` are literal strings coerced to the input
    /// types (alloy's `coerce_str`: decimal or 0x numbers, `1.5 ether`, addresses, `true`,
    /// 0x bytes, `[1,2]` arrays, `(a,b)` tuples); `"self"` means `self_address` and is only
    /// valid for address inputs. Errors name the argument index.
    pub fn encode(&self, args: &[String], self_address: Address) -> Result<Vec<u8>, AbiError> {
        let values = self.coerce_args(args, self_address)?;
        self.function
            .abi_encode_input(&values)
            .map_err(|error| AbiError::UnsupportedType {
                what: format!("function \"{}\"", self.signature()),
                message: format!("cannot encode the arguments: {error}"),
            })
    }

    /// Checks arguments without an address (for `vigil check`): their count and types;
    /// `"self"` is accepted for address inputs.
    pub fn check_args(&self, args: &[String]) -> Result<(), AbiError> {
        self.coerce_args(args, Address::ZERO).map(drop)
    }

    fn coerce_args(
        &self,
        args: &[String],
        self_address: Address,
    ) -> Result<Vec<DynSolValue>, AbiError> {
        if args.len() != self.inputs.len() {
            return Err(AbiError::ArgCount {
                signature: self.signature(),
                expected: self.inputs.len(),
                got: args.len(),
            });
        }
        args.iter()
            .zip(&self.inputs)
            .enumerate()
            .map(|(index, (arg, ty))| {
                let arg = arg.trim();
                if arg == "self" {
                    return match ty {
                        DynSolType::Address => Ok(DynSolValue::Address(self_address)),
                        _ => Err(AbiError::SelfNotAddress {
                            index,
                            ty: ty.sol_type_name().into_owned(),
                        }),
                    };
                }
                let bad = || AbiError::BadArg {
                    index,
                    value: shorten(arg, 80),
                    ty: ty.sol_type_name().into_owned(),
                };
                if arg.len() > MAX_ARG_BYTES {
                    return Err(bad());
                }
                ty.coerce_str(arg).map_err(|_| bad())
            })
            .collect()
    }

    /// Decodes return data: all outputs, in order. Empty data (no contract at the address) is
    /// [`AbiError::EmptyReturnData`].
    pub fn decode(&self, data: &[u8]) -> Result<Vec<DynSolValue>, AbiError> {
        if data.is_empty() {
            return Err(AbiError::EmptyReturnData);
        }
        self.function
            .abi_decode_output(data)
            .map_err(|_| AbiError::ReturnData {
                len: data.len(),
                types: type_list(&self.outputs),
            })
    }

    /// Checks that output `index` exists and is a number or a bool (what
    /// [`decode_number`](Self::decode_number) reads), without any return data.
    pub fn check_number_output(&self, index: usize) -> Result<(), AbiError> {
        let ty = self.outputs.get(index).ok_or(AbiError::OutputIndex {
            signature: self.signature_with_outputs(),
            index,
            count: self.outputs.len(),
        })?;
        match ty {
            DynSolType::Uint(_) | DynSolType::Int(_) | DynSolType::Bool => Ok(()),
            other => Err(AbiError::NotNumber {
                signature: self.signature_with_outputs(),
                index,
                ty: other.sol_type_name().into_owned(),
            }),
        }
    }

    /// Output `index` as an f64 divided by `10^decimals`: `uint*`/`int*` over their full range
    /// (the quotient is rounded once, correctly, from the exact decimal), `bool` as 1 or 0
    /// (`decimals` ignored). Any other type is an error naming it.
    pub fn decode_number(&self, data: &[u8], index: usize, decimals: u32) -> Result<f64, AbiError> {
        self.check_number_output(index)?;
        let values = self.decode(data)?;
        match values.get(index) {
            Some(DynSolValue::Uint(value, _)) => Ok(scaled(false, *value, decimals)),
            Some(DynSolValue::Int(value, _)) => {
                Ok(scaled(value.is_negative(), value.unsigned_abs(), decimals))
            }
            Some(DynSolValue::Bool(value)) => Ok(if *value { 1.0 } else { 0.0 }),
            _ => Err(AbiError::ReturnData {
                len: data.len(),
                types: type_list(&self.outputs),
            }),
        }
    }
}

/// `±magnitude / 10^decimals` as the nearest f64: Rust's float parsing rounds the exact decimal
/// correctly, whatever its length or exponent.
pub(crate) fn scaled(negative: bool, magnitude: U256, decimals: u32) -> f64 {
    let sign = if negative { "-" } else { "" };
    format!("{sign}{magnitude}e-{decimals}")
        .parse()
        .unwrap_or(f64::NAN)
}

/// An event to ask `eth_getLogs` for and decode.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSpec {
    event: Event,
    types: Vec<DynSolType>,
    names: Vec<String>,
}

impl EventSpec {
    /// A Solidity event signature with `indexed` markers and argument names
    /// (`"Withdrawal(address indexed to, uint256 amount)"`, `"event Withdrawal(...)"`), or an
    /// event name (or `name(types)`) resolved in `abi`. A signature that the ABI declares is
    /// taken from the ABI (names, `indexed`); one that marks `indexed` differently from the
    /// ABI is an error. Unnamed arguments are called `arg0`, `arg1`, ... by position.
    pub fn parse(event: &str, abi: Option<&JsonAbi>) -> Result<Self, AbiError> {
        let text = event.trim();
        check_signature_text("event", text)?;
        let event = if text.contains('(') {
            let parsed = Event::parse(text).map_err(|error| AbiError::Signature {
                kind: "event",
                text: text.to_owned(),
                message: format!("not a valid event signature: {error}"),
            })?;
            let signature = parsed.signature();
            let declared = abi.and_then(|abi| {
                abi.event(&parsed.name).and_then(|overloads| {
                    overloads
                        .iter()
                        .find(|e| e.signature() == signature && !e.anonymous)
                })
            });
            match declared {
                Some(declared) => {
                    let marked = parsed.inputs.iter().any(|input| input.indexed);
                    let same = parsed
                        .inputs
                        .iter()
                        .zip(&declared.inputs)
                        .all(|(ours, theirs)| ours.indexed == theirs.indexed);
                    if marked && !same {
                        return Err(AbiError::AbiMismatch {
                            kind: "event",
                            text: text.to_owned(),
                            declared: declared.full_signature(),
                        });
                    }
                    declared.clone()
                }
                None => parsed,
            }
        } else {
            if !is_identifier(text) {
                return Err(AbiError::Signature {
                    kind: "event",
                    text: text.to_owned(),
                    message: "not an event name or signature".into(),
                });
            }
            let Some(abi) = abi else {
                return Err(AbiError::NeedsAbi {
                    kind: "event",
                    name: text.to_owned(),
                    example: "\"Transfer(address indexed from, address indexed to, uint256 value)\"",
                });
            };
            match abi.event(text).map(Vec::as_slice) {
                Some([event]) => event.clone(),
                Some(overloads) if !overloads.is_empty() => {
                    return Err(AbiError::Overloaded {
                        kind: "event",
                        name: text.to_owned(),
                        candidates: overloads.iter().map(Event::signature).collect(),
                    });
                }
                _ => {
                    return Err(AbiError::NotInAbi {
                        kind: "event",
                        name: text.to_owned(),
                        available: available(abi.events().map(|e| e.name.clone()), "event"),
                    });
                }
            }
        };
        if event.anonymous {
            return Err(AbiError::Anonymous {
                signature: event.signature(),
            });
        }
        let indexed = event.inputs.iter().filter(|input| input.indexed).count();
        if indexed > 3 {
            return Err(AbiError::UnsupportedType {
                what: format!("event \"{}\"", event.signature()),
                message: format!("{indexed} indexed arguments; a log has at most 3"),
            });
        }
        let types = resolve_types(&event.inputs, || format!("event \"{}\"", event.signature()))?;
        let names = event
            .inputs
            .iter()
            .enumerate()
            .map(|(index, input)| {
                if input.name.is_empty() {
                    format!("arg{index}")
                } else {
                    input.name.clone()
                }
            })
            .collect();
        Ok(Self {
            event,
            types,
            names,
        })
    }

    pub fn name(&self) -> &str {
        &self.event.name
    }

    /// `"Withdrawal(address,uint256)"`: topic0's preimage.
    pub fn signature(&self) -> String {
        self.event.signature()
    }

    /// `"event Withdrawal(address indexed to, uint256 amount)"`.
    pub fn full_signature(&self) -> String {
        self.event.full_signature()
    }

    /// keccak256 of [`signature`](Self::signature).
    pub fn topic0(&self) -> B256 {
        self.event.selector()
    }

    /// The arguments' names in declaration order (`argN` for unnamed ones).
    pub fn arg_names(&self) -> Vec<String> {
        self.names.clone()
    }

    /// The arguments' names and types, for [`Condition::check`](super::filter::Condition::check).
    /// An indexed argument of a dynamic type (string, bytes, array, tuple) has only its hash in
    /// the log; its type reads `"string (indexed: only its keccak256 hash is logged)"`, which
    /// no literal can be compared with.
    pub fn arg_types(&self) -> Vec<(String, String)> {
        self.names
            .iter()
            .zip(&self.types)
            .zip(&self.event.inputs)
            .map(|((name, ty), input)| {
                let mut text = ty.sol_type_name().into_owned();
                if input.indexed && hashed_in_topic(ty) {
                    text.push_str(" (indexed: only its keccak256 hash is logged)");
                }
                (name.clone(), text)
            })
            .collect()
    }

    /// How many topics a log of this event has: topic0 and one per indexed argument.
    pub fn topic_count(&self) -> usize {
        1 + self
            .event
            .inputs
            .iter()
            .filter(|input| input.indexed)
            .count()
    }

    /// Decodes one log into its arguments, in declaration order. `topics[0]` must be
    /// [`topic0`](Self::topic0); a wrong topic count or data that does not decode is an error.
    pub fn decode(&self, topics: &[B256], data: &[u8]) -> Result<Vec<(String, Value)>, AbiError> {
        let log_error = |message: String| AbiError::Log {
            signature: self.signature(),
            message,
        };
        let topic0 = self.topic0();
        match topics.first() {
            None => return Err(log_error("the log has no topics".into())),
            Some(first) if *first != topic0 => {
                return Err(log_error(format!("its topic0 is {first}, not {topic0}")));
            }
            Some(_) => {}
        }
        if topics.len() != self.topic_count() {
            return Err(log_error(format!(
                "expected {} topics (topic0 and {} indexed argument{}), got {}",
                self.topic_count(),
                self.topic_count() - 1,
                plural(self.topic_count() - 1),
                topics.len()
            )));
        }
        let decoded = self
            .event
            .decode_log_parts(topics.iter().copied(), data)
            .map_err(|error| log_error(format!("{} bytes of data: {error}", data.len())))?;
        let mut indexed = decoded.indexed.into_iter();
        let mut body = decoded.body.into_iter();
        let mut args = Vec::with_capacity(self.names.len());
        for ((name, input), ty) in self.names.iter().zip(&self.event.inputs).zip(&self.types) {
            let value = if input.indexed {
                indexed.next()
            } else {
                body.next()
            };
            let Some(value) = value else {
                return Err(log_error("fewer values than arguments".into()));
            };
            let value = if input.indexed && hashed_in_topic(ty) {
                match value {
                    DynSolValue::FixedBytes(hash, _) => Value::Other(hex::encode_prefixed(hash)),
                    other => Value::from_dyn(&other),
                }
            } else {
                Value::from_dyn(&value)
            };
            args.push((name.clone(), value));
        }
        Ok(args)
    }
}

/// Whether an indexed argument of this type is logged as the keccak256 hash of its encoding
/// (everything but a single word).
fn hashed_in_topic(ty: &DynSolType) -> bool {
    !matches!(
        ty,
        DynSolType::Address
            | DynSolType::Bool
            | DynSolType::Int(_)
            | DynSolType::Uint(_)
            | DynSolType::FixedBytes(_)
            | DynSolType::Function
    )
}

#[cfg(test)]
#[path = "abi_tests.rs"]
mod tests;
