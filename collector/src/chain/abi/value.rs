//! [`Value`]: a decoded argument as the `where` filter compares it and alert labels print it.

use std::fmt::{self, Write as _};

use alloy_dyn_abi::DynSolValue;
use alloy_primitives::{Address, I256, U256, hex};

use super::{MAX_OTHER_TEXT, shorten};

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
