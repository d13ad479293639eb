//! The `where` condition of an event watch: which decoded logs raise an alert.
//!
//! ```text
//! amount > 1000000000
//! to == 0xAbC0000000000000000000000000000000000001
//! amount >= 5 and (from != 0x0000000000000000000000000000000000000000 or flag == true)
//! role == 0x0000000000000000000000000000000000000000000000000000000000000000
//! reason == "exploit" && not paused == true
//! ```
//!
//! Grammar (keywords `and`, `or`, `not`, `true`, `false` in any case; `&&`, `||`, `!` also):
//!
//! ```text
//! or         = and ( ("or" | "||") and )*
//! and        = unary ( ("and" | "&&") unary )*
//! unary      = ("not" | "!") unary | "(" or ")" | comparison
//! comparison = identifier ("==" | "!=" | ">" | ">=" | "<" | "<=") literal
//! literal    = -?[0-9]+ | 0x[0-9a-fA-F]+ | true | false | "string with \" and \\ escapes"
//! identifier = [A-Za-z_][A-Za-z0-9_]*
//! ```
//!
//! Conditions are at most [`MAX_WHERE_BYTES`] long and nest at most [`MAX_WHERE_DEPTH`] levels
//! (parentheses and `not`s), so hostile configuration cannot exhaust the stack.
//! [`Condition::check`] compares every literal with its argument's Solidity type when the
//! configuration is loaded; [`Condition::matches`] then evaluates decoded logs, exactly on
//! 256-bit numbers, and never panics: a comparison with an argument that is missing or of
//! another kind is false.

use std::cmp::Ordering;
use std::fmt::{self, Write as _};

use alloy_primitives::{Address, U256, hex};

use super::abi::{Value, article, shorten};

/// The longest condition accepted, in bytes.
pub const MAX_WHERE_BYTES: usize = 4096;
/// How deeply parentheses and `not`s may nest.
pub const MAX_WHERE_DEPTH: usize = 32;

/// A condition that does not parse, or that does not fit the event it filters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhereError {
    /// Columns count characters from 1.
    #[error("at column {column}: {message}")]
    Syntax { column: usize, message: String },
    #[error("the condition is {len} bytes long; at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    /// `available` reads "the event has: to, amount" or "the event has no arguments".
    #[error("unknown argument \"{name}\" ({available})")]
    UnknownArgument { name: String, available: String },
    /// `literal` is the literal as written in canonical form; `reason` is empty or starts with
    /// a space.
    #[error(
        "\"{name}\" is a{} {ty}: cannot compare it with {literal}{reason}",
        article(ty)
    )]
    Incomparable {
        name: String,
        ty: String,
        literal: String,
        reason: String,
    },
    #[error(
        "\"{name}\" is a{} {ty}: only == and != apply to it, not {op}",
        article(ty)
    )]
    Operator { name: String, ty: String, op: Op },
    /// An [`Expr`] given to [`Condition::new`] that no text parses to.
    #[error("invalid condition: {message}")]
    Invalid { message: String },
}

/// A parsed `where` condition. Its [`Display`](fmt::Display) is canonical text that parses back
/// to an equal condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    expr: Expr,
}

/// The condition's syntax tree. `And` and `Or` hold at least two operands; an operand of the
/// same kind stands for a parenthesised group (`a and (b and c)`), so printing keeps the shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Compare(Comparison),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

/// `argument op literal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub arg: String,
    pub op: Op,
    pub literal: Literal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// A decimal integer: never negative zero, at most 2^255 when negative.
    Number {
        negative: bool,
        magnitude: U256,
    },
    /// `0x` and at least one hex digit, kept lowercase without the `0x`: an address (40
    /// digits), bytes (an even count) or a number, depending on the argument's type.
    Hex(String),
    Bool(bool),
    Str(String),
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
        })
    }
}

impl Op {
    fn applies(self, ordering: Ordering) -> bool {
        match self {
            Self::Eq => ordering.is_eq(),
            Self::Ne => ordering.is_ne(),
            Self::Gt => ordering.is_gt(),
            Self::Ge => ordering.is_ge(),
            Self::Lt => ordering.is_lt(),
            Self::Le => ordering.is_le(),
        }
    }

    fn is_equality(self) -> bool {
        matches!(self, Self::Eq | Self::Ne)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number {
                negative,
                magnitude,
            } => {
                if *negative {
                    f.write_char('-')?;
                }
                write!(f, "{magnitude}")
            }
            Self::Hex(digits) => write!(f, "0x{digits}"),
            Self::Bool(value) => write!(f, "{value}"),
            Self::Str(text) => {
                f.write_char('"')?;
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        f.write_char('\\')?;
                    }
                    f.write_char(c)?;
                }
                f.write_char('"')
            }
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.arg, self.op, self.literal)
    }
}

impl fmt::Display for Expr {
    /// Parenthesises exactly the operands the grammar needs (and the nested groups of the same
    /// kind), so the text parses back to the same tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compare(comparison) => write!(f, "{comparison}"),
            Self::Not(inner) => {
                f.write_str("not ")?;
                write_operand(f, inner, matches!(**inner, Self::And(_) | Self::Or(_)))
            }
            Self::And(items) => {
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(" and ")?;
                    }
                    write_operand(f, item, matches!(item, Self::And(_) | Self::Or(_)))?;
                }
                Ok(())
            }
            Self::Or(items) => {
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(" or ")?;
                    }
                    write_operand(f, item, matches!(item, Self::Or(_)))?;
                }
                Ok(())
            }
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, expr: &Expr, parenthesise: bool) -> fmt::Result {
    if parenthesise {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)
    }
}

impl Condition {
    /// Parses a condition (see the module documentation for the grammar).
    pub fn parse(text: &str) -> Result<Self, WhereError> {
        if text.len() > MAX_WHERE_BYTES {
            return Err(WhereError::TooLong {
                len: text.len(),
                max: MAX_WHERE_BYTES,
            });
        }
        let tokens = lex(text)?;
        let mut parser = Parser {
            tokens,
            position: 0,
            depth: 0,
        };
        let expr = parser.or()?;
        let next = parser.peek();
        if next.kind != Kind::End {
            return Err(syntax(
                next.column,
                format!(
                    "expected \"and\", \"or\" or the end of the condition, found {}",
                    next.found()
                ),
            ));
        }
        Ok(Self { expr })
    }

    /// A condition from its tree, checked to be one that [`parse`](Self::parse) can produce:
    /// `And`/`Or` with two operands or more, identifiers that are not keywords, literals in
    /// their canonical form, within the nesting and length limits.
    pub fn new(expr: Expr) -> Result<Self, WhereError> {
        validate(&expr)?;
        let depth = nesting(&expr);
        if depth > MAX_WHERE_DEPTH {
            return Err(WhereError::Invalid {
                message: format!("nested {depth} levels deep; at most {MAX_WHERE_DEPTH}"),
            });
        }
        let condition = Self { expr };
        let len = condition.to_string().len();
        if len > MAX_WHERE_BYTES {
            return Err(WhereError::TooLong {
                len,
                max: MAX_WHERE_BYTES,
            });
        }
        Ok(condition)
    }

    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The argument names the condition uses, in order of appearance, without repeats.
    pub fn arguments(&self) -> Vec<&str> {
        let mut names = Vec::new();
        for_each_comparison(&self.expr, &mut |comparison| {
            if !names.contains(&comparison.arg.as_str()) {
                names.push(comparison.arg.as_str());
            }
            Ok(())
        })
        .ok();
        names
    }

    /// Checks that every identifier names an event argument and that each literal can be
    /// compared with that argument's Solidity type (`"uint256"`, `"address"`, `"bool"`,
    /// `"bytes32"`, `"string"`, `"int128"`...): numbers (decimal or 0x) in the type's range for
    /// integers; `0x` and 40 hex digits for addresses; exactly 2N hex digits for `bytesN`, an
    /// even count for `bytes`; `true`/`false` for bools; strings for strings. Addresses, bools,
    /// bytes and strings take only `==` and `!=`. Other types (arrays, tuples, an indexed
    /// string that only has its hash in the log) take nothing.
    pub fn check(&self, args: &[(String, String)]) -> Result<(), WhereError> {
        for_each_comparison(&self.expr, &mut |comparison| {
            check_comparison(comparison, args)
        })
    }

    /// Evaluates the condition on a log's decoded arguments. Numbers compare exactly over 256
    /// bits, signed and unsigned mixed correctly; addresses and hex compare case-insensitively.
    /// A comparison with an argument that is missing or of another kind is false (so its `not`
    /// is true).
    pub fn matches(&self, args: &[(String, Value)]) -> bool {
        evaluate(&self.expr, args)
    }
}

fn syntax(column: usize, message: String) -> WhereError {
    WhereError::Syntax { column, message }
}

fn for_each_comparison<'a>(
    expr: &'a Expr,
    visit: &mut impl FnMut(&'a Comparison) -> Result<(), WhereError>,
) -> Result<(), WhereError> {
    match expr {
        Expr::Compare(comparison) => visit(comparison),
        Expr::Not(inner) => for_each_comparison(inner, visit),
        Expr::And(items) | Expr::Or(items) => items
            .iter()
            .try_for_each(|item| for_each_comparison(item, visit)),
    }
}

mod lex;
use lex::{Kind, Token, int_min_magnitude, is_ident_char, is_ident_start, keyword, lex};

// ---- parsing ---------------------------------------------------------------------------------

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // `lex` always ends the list with `End`, and the parser never moves past it.
        &self.tokens[self.position.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != Kind::End {
            self.position += 1;
        }
        token
    }

    fn enter(&mut self, column: usize) -> Result<(), WhereError> {
        self.depth += 1;
        if self.depth > MAX_WHERE_DEPTH {
            return Err(syntax(
                column,
                format!("nested more than {MAX_WHERE_DEPTH} levels deep (parentheses and \"not\")"),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, WhereError> {
        let mut items = vec![self.and()?];
        while self.peek().kind == Kind::Or {
            self.advance();
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, WhereError> {
        let mut items = vec![self.unary()?];
        while self.peek().kind == Kind::And {
            self.advance();
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, WhereError> {
        let token = self.advance();
        match token.kind {
            Kind::Not => {
                self.enter(token.column)?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            Kind::Open => {
                self.enter(token.column)?;
                let inner = self.or()?;
                let close = self.advance();
                if close.kind != Kind::Close {
                    return Err(syntax(
                        close.column,
                        format!(
                            "expected \")\" to close the \"(\" at column {}, found {}",
                            token.column,
                            close.found()
                        ),
                    ));
                }
                self.depth -= 1;
                Ok(inner)
            }
            Kind::Ident(arg) => {
                let op = self.advance();
                let Kind::Op(op) = op.kind else {
                    return Err(syntax(
                        op.column,
                        format!(
                            "expected a comparison operator after \"{arg}\", found {}",
                            op.found()
                        ),
                    ));
                };
                let value = self.advance();
                let Kind::Literal(literal) = value.kind else {
                    return Err(syntax(
                        value.column,
                        format!(
                            "expected a value (a number, 0x hex, true, false or a \"string\") after \"{op}\", found {}",
                            value.found()
                        ),
                    ));
                };
                Ok(Expr::Compare(Comparison { arg, op, literal }))
            }
            _ => Err(syntax(
                token.column,
                format!(
                    "expected an argument name, \"(\" or \"not\", found {}",
                    token.found()
                ),
            )),
        }
    }
}

// ---- building from a tree ----------------------------------------------------------------------

fn validate(expr: &Expr) -> Result<(), WhereError> {
    let invalid = |message: String| Err(WhereError::Invalid { message });
    match expr {
        Expr::Compare(comparison) => {
            let arg = &comparison.arg;
            let mut chars = arg.chars();
            let identifier = chars.next().is_some_and(is_ident_start) && chars.all(is_ident_char);
            if !identifier || keyword(arg).is_some() {
                return invalid(format!("\"{}\" is not an argument name", shorten(arg, 40)));
            }
            match &comparison.literal {
                Literal::Number {
                    negative: true,
                    magnitude,
                } if magnitude.is_zero() || *magnitude > int_min_magnitude() => {
                    invalid(format!("-{magnitude} is not a canonical int256"))
                }
                Literal::Hex(digits)
                    if digits.is_empty()
                        || !digits
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
                {
                    invalid(format!("0x{} is not lowercase hex", shorten(digits, 40)))
                }
                _ => Ok(()),
            }
        }
        Expr::Not(inner) => validate(inner),
        Expr::And(items) | Expr::Or(items) => {
            if items.len() < 2 {
                return invalid("\"and\" and \"or\" need two operands or more".into());
            }
            items.iter().try_for_each(validate)
        }
    }
}

/// How deeply the parser nests when it reads `expr`'s [`Display`](fmt::Display) text.
fn nesting(expr: &Expr) -> usize {
    let group = |item: &Expr, same: bool| usize::from(same) + nesting(item);
    match expr {
        Expr::Compare(_) => 0,
        Expr::Not(inner) => 1 + group(inner, matches!(**inner, Expr::And(_) | Expr::Or(_))),
        Expr::And(items) => items
            .iter()
            .map(|item| group(item, matches!(item, Expr::And(_) | Expr::Or(_))))
            .max()
            .unwrap_or(0),
        Expr::Or(items) => items
            .iter()
            .map(|item| group(item, matches!(item, Expr::Or(_))))
            .max()
            .unwrap_or(0),
    }
}

// ---- checking against the event's types ------------------------------------------------------

/// What a Solidity type compares as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeKind {
    Uint(usize),
    Int(usize),
    Address,
    Bool,
    FixedBytes(usize),
    Bytes,
    String,
    Other,
}

fn type_kind(ty: &str) -> TypeKind {
    let bits = |digits: &str| {
        digits
            .parse::<usize>()
            .ok()
            .filter(|bits| *bits > 0 && *bits <= 256 && bits % 8 == 0 && !digits.starts_with('0'))
    };
    match ty.trim() {
        "address" | "address payable" => TypeKind::Address,
        "bool" => TypeKind::Bool,
        "string" => TypeKind::String,
        "bytes" => TypeKind::Bytes,
        "function" => TypeKind::FixedBytes(24),
        "uint" => TypeKind::Uint(256),
        "int" => TypeKind::Int(256),
        other => {
            if let Some(size) = other.strip_prefix("uint").and_then(bits) {
                TypeKind::Uint(size)
            } else if let Some(size) = other.strip_prefix("int").and_then(bits) {
                TypeKind::Int(size)
            } else if let Some(size) = other
                .strip_prefix("bytes")
                .and_then(|digits| digits.parse::<usize>().ok())
                .filter(|size| (1..=32).contains(size))
                .filter(|_| !other["bytes".len()..].starts_with('0'))
            {
                TypeKind::FixedBytes(size)
            } else {
                TypeKind::Other
            }
        }
    }
}

/// The literal as a signed number (sign, magnitude); `None` when it is not a number or does not
/// fit in 256 bits.
fn literal_number(literal: &Literal) -> Option<(bool, U256)> {
    match literal {
        Literal::Number {
            negative,
            magnitude,
        } => Some((*negative, *magnitude)),
        Literal::Hex(digits) => hex_number(digits).map(|value| (false, value)),
        _ => None,
    }
}

fn hex_number(digits: &str) -> Option<U256> {
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(U256::ZERO);
    }
    if digits.len() > 64 {
        return None;
    }
    U256::from_str_radix(digits, 16).ok()
}

fn hex_bytes(digits: &str) -> Option<Vec<u8>> {
    hex::decode(digits).ok()
}

fn check_comparison(comparison: &Comparison, args: &[(String, String)]) -> Result<(), WhereError> {
    let Some((name, ty)) = args.iter().find(|(name, _)| *name == comparison.arg) else {
        let available = if args.is_empty() {
            "the event has no arguments".to_owned()
        } else {
            let names: Vec<&str> = args.iter().map(|(name, _)| name.as_str()).collect();
            format!("the event has: {}", names.join(", "))
        };
        return Err(WhereError::UnknownArgument {
            name: comparison.arg.clone(),
            available,
        });
    };
    let literal = &comparison.literal;
    let incomparable = |reason: &str| {
        Err(WhereError::Incomparable {
            name: name.clone(),
            ty: ty.clone(),
            literal: shorten(&literal.to_string(), 80),
            reason: reason.to_owned(),
        })
    };
    let kind = type_kind(ty);
    match (kind, literal) {
        (TypeKind::Uint(bits) | TypeKind::Int(bits), Literal::Number { .. } | Literal::Hex(_)) => {
            let signed = matches!(kind, TypeKind::Int(_));
            match literal_number(literal) {
                None => return incomparable(" (out of range)"),
                Some((true, _)) if !signed => return incomparable(" (it is never negative)"),
                Some((negative, magnitude)) => {
                    let in_range = if !signed {
                        magnitude.bit_len() <= bits
                    } else if negative {
                        magnitude <= U256::from(1) << (bits - 1)
                    } else {
                        magnitude.bit_len() < bits
                    };
                    if !in_range {
                        return incomparable(" (out of range)");
                    }
                }
            }
            return Ok(());
        }
        (TypeKind::Address, Literal::Hex(digits)) if digits.len() != 40 => {
            return incomparable(" (an address is 0x and 40 hex digits)");
        }
        (TypeKind::FixedBytes(size), Literal::Hex(digits)) if digits.len() != 2 * size => {
            return incomparable(&format!(" (a {ty} is 0x and {} hex digits)", 2 * size));
        }
        (TypeKind::Bytes, Literal::Hex(digits)) if digits.len() % 2 == 1 => {
            return incomparable(" (bytes take an even number of hex digits)");
        }
        (TypeKind::Address | TypeKind::FixedBytes(_) | TypeKind::Bytes, Literal::Hex(_))
        | (TypeKind::Bool, Literal::Bool(_))
        | (TypeKind::String, Literal::Str(_)) => {}
        // The type of an indexed string or array already says only its hash is logged.
        (TypeKind::Other, _) if ty.contains("indexed") => return incomparable(""),
        (TypeKind::Other, _) => {
            return incomparable(
                " (only numbers, addresses, bools, bytes and strings can be compared)",
            );
        }
        _ => return incomparable(""),
    }
    if comparison.op.is_equality() {
        Ok(())
    } else {
        Err(WhereError::Operator {
            name: name.clone(),
            ty: ty.clone(),
            op: comparison.op,
        })
    }
}

// ---- evaluation ------------------------------------------------------------------------------

fn evaluate(expr: &Expr, args: &[(String, Value)]) -> bool {
    match expr {
        Expr::Compare(comparison) => args
            .iter()
            .find(|(name, _)| *name == comparison.arg)
            .is_some_and(|(_, value)| compare(value, comparison.op, &comparison.literal)),
        Expr::Not(inner) => !evaluate(inner, args),
        Expr::And(items) => items.iter().all(|item| evaluate(item, args)),
        Expr::Or(items) => items.iter().any(|item| evaluate(item, args)),
    }
}

/// Orders two signed 257-bit numbers given as (negative, magnitude), zero never negative.
fn compare_signed(left: (bool, U256), right: (bool, U256)) -> Ordering {
    match (left.0, right.0) {
        (false, false) => left.1.cmp(&right.1),
        (true, true) => right.1.cmp(&left.1),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    }
}

fn compare(value: &Value, op: Op, literal: &Literal) -> bool {
    let number = match value {
        Value::Uint(value) => Some((false, *value)),
        Value::Int(value) => Some((value.is_negative(), value.unsigned_abs())),
        _ => None,
    };
    if let Some(number) = number {
        return match literal {
            // A hex literal too long for 256 bits is above every value.
            Literal::Hex(digits) if hex_number(digits).is_none() => op.applies(Ordering::Less),
            _ => literal_number(literal)
                .is_some_and(|other| op.applies(compare_signed(number, other))),
        };
    }
    let equal = match (value, literal) {
        (Value::Address(address), Literal::Hex(digits)) if digits.len() == 40 => {
            hex_bytes(digits).is_some_and(|bytes| Address::from_slice(&bytes) == *address)
        }
        (Value::Bytes(bytes), Literal::Hex(digits)) if digits.len() % 2 == 0 => {
            hex_bytes(digits).is_some_and(|other| other == *bytes)
        }
        (Value::Bool(value), Literal::Bool(other)) => value == other,
        (Value::String(value), Literal::Str(other)) => value == other,
        _ => return false,
    };
    match op {
        Op::Eq => equal,
        Op::Ne => !equal,
        _ => false,
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
