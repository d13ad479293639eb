//! Contract ABIs for chain watching: which function to `eth_call` and how to read what it
//! returns, which event to ask `eth_getLogs` for and how to decode its logs.
//!
//! All ABI work is alloy's (`alloy-json-abi` parses ABIs and signatures, `alloy-dyn-abi` encodes
//! and decodes); this module resolves what the configuration names against an optional ABI file,
//! turns literal arguments into calldata, and explains every failure with what and where. It
//! never panics on hostile input (ABI text, signatures, arguments, return data, logs: see the
//! proptests in `collector/tests/chain_filter_props.rs` and the `chain_where` fuzz target), and
//! it refuses types whose decoding could allocate without bound (huge fixed arrays, deep nesting).

use std::fmt::{self, Write as _};
use std::path::Path;

use alloy_dyn_abi::{DynSolType, DynSolValue, EventExt, FunctionExt, JsonAbiExt, Specifier};
use alloy_json_abi::{Event, Function, JsonAbi};
use alloy_primitives::{Address, B256, I256, U256, hex};

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
fn scaled(negative: bool, magnitude: U256, decimals: u32) -> f64 {
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

/// A decoded argument, comparable by the `where` filter and printable for alert labels.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Uint(U256),
    Int(I256),
    Address(Address),
    Bool(bool),
    /// `bytes` and `bytesN` (and the 24 bytes of a `function`).
    Bytes(Vec<u8>),
    String(String),
    /// Arrays, tuples, or an indexed dynamic type (only its hash is in the topic): printable
    /// text, cut to [`MAX_OTHER_TEXT`] bytes.
    Other(String),
}

impl Value {
    /// Converts an alloy value: arrays and tuples become [`Value::Other`] text.
    pub fn from_dyn(value: &DynSolValue) -> Self {
        match value {
            DynSolValue::Uint(value, _) => Self::Uint(*value),
            DynSolValue::Int(value, _) => Self::Int(*value),
            DynSolValue::Address(address) => Self::Address(*address),
            DynSolValue::Bool(value) => Self::Bool(*value),
            DynSolValue::FixedBytes(word, size) => {
                Self::Bytes(word.get(..*size).unwrap_or(&word[..]).to_vec())
            }
            DynSolValue::Function(function) => Self::Bytes(function.to_vec()),
            DynSolValue::Bytes(bytes) => Self::Bytes(bytes.clone()),
            DynSolValue::String(text) => Self::String(text.clone()),
            other => {
                let mut text = String::new();
                write_dyn(&mut text, other);
                Self::Other(shorten(&text, MAX_OTHER_TEXT))
            }
        }
    }
}

/// Prints arrays as `[a, b]` and tuples as `(a, b)`, stopping once past [`MAX_OTHER_TEXT`].
fn write_dyn(out: &mut String, value: &DynSolValue) {
    if out.len() > MAX_OTHER_TEXT {
        return;
    }
    let (open, close, items) = match value {
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => ("[", "]", items.as_slice()),
        // Tuples, and eip712 structs when alloy's `eip712` feature is on somewhere in the build.
        other => match other.as_fixed_seq() {
            Some(items) => ("(", ")", items),
            None => {
                let _ = write!(out, "{}", Value::from_dyn(other));
                return;
            }
        },
    };
    out.push_str(open);
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        if out.len() > MAX_OTHER_TEXT {
            break;
        }
        write_dyn(out, item);
    }
    out.push_str(close);
}

impl fmt::Display for Value {
    /// Uint/Int in decimal, Address as `0x` and 40 lowercase hex digits, Bytes as `0x` hex,
    /// Bool as `true`/`false`, String and Other as they are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Uint(value) => write!(f, "{value}"),
            Self::Int(value) => write!(f, "{value}"),
            Self::Address(address) => f.write_str(&hex::encode_prefixed(address)),
            Self::Bool(value) => write!(f, "{value}"),
            Self::Bytes(bytes) => f.write_str(&hex::encode_prefixed(bytes)),
            Self::String(text) | Self::Other(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let artifact =
            format!(r#"{{"_format":"hh-sol-artifact-1","abi":{ERC20},"bytecode":"0x00"}}"#);
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
        assert!(
            message.starts_with("args[1]: \"9999") && message.ends_with("…\" is not a uint256")
        );

        let mixed =
            CallSpec::parse("f(int8,bool,bytes32,string,uint256[])(uint256)", None).unwrap();
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
}
