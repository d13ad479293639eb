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

// ---- lexing ----------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Ident(String),
    Literal(Literal),
    Op(Op),
    And,
    Or,
    Not,
    Open,
    Close,
    /// A character that starts no token (`=`, `&`, `@`...), reported by the parser in context.
    Stray(char),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    column: usize,
    /// The source text, for messages.
    text: String,
}

impl Token {
    fn found(&self) -> String {
        if self.kind == Kind::End {
            "the end of the condition".to_owned()
        } else {
            format!("\"{}\"", shorten(&self.text, 40))
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn keyword(word: &str) -> Option<Kind> {
    Some(match word.to_ascii_lowercase().as_str() {
        "and" => Kind::And,
        "or" => Kind::Or,
        "not" => Kind::Not,
        "true" => Kind::Literal(Literal::Bool(true)),
        "false" => Kind::Literal(Literal::Bool(false)),
        _ => return None,
    })
}

fn lex(text: &str) -> Result<Vec<Token>, WhereError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        let start = at;
        let column = start + 1;
        let next = chars.get(at + 1).copied();
        let kind = match c {
            c if c.is_whitespace() => {
                at += 1;
                continue;
            }
            '(' => {
                at += 1;
                Kind::Open
            }
            ')' => {
                at += 1;
                Kind::Close
            }
            '=' | '!' | '>' | '<' => {
                at += 1;
                let equals = next == Some('=');
                if equals {
                    at += 1;
                }
                match (c, equals) {
                    ('=', true) => Kind::Op(Op::Eq),
                    ('=', false) => Kind::Stray('='),
                    ('!', true) => Kind::Op(Op::Ne),
                    ('!', false) => Kind::Not,
                    ('>', true) => Kind::Op(Op::Ge),
                    ('>', false) => Kind::Op(Op::Gt),
                    ('<', true) => Kind::Op(Op::Le),
                    _ => Kind::Op(Op::Lt),
                }
            }
            '&' | '|' if next == Some(c) => {
                at += 2;
                if c == '&' { Kind::And } else { Kind::Or }
            }
            '"' => {
                let (value, end) = lex_string(&chars, at)?;
                at = end;
                Kind::Literal(Literal::Str(value))
            }
            '-' if next.is_some_and(|n| n.is_ascii_digit()) => {
                let (literal, end) = lex_number(&chars, at + 1, true)?;
                at = end;
                Kind::Literal(literal)
            }
            '0'..='9' => {
                let (literal, end) = lex_number(&chars, at, false)?;
                at = end;
                Kind::Literal(literal)
            }
            c if is_ident_start(c) => {
                while at < chars.len() && is_ident_char(chars[at]) {
                    at += 1;
                }
                let word: String = chars[start..at].iter().collect();
                keyword(&word).unwrap_or(Kind::Ident(word))
            }
            other => {
                at += 1;
                Kind::Stray(other)
            }
        };
        tokens.push(Token {
            kind,
            column,
            text: chars[start..at].iter().collect(),
        });
    }
    tokens.push(Token {
        kind: Kind::End,
        column: chars.len() + 1,
        text: String::new(),
    });
    Ok(tokens)
}

/// A string starting at `chars[open]` (`"`): its value and the index after the closing quote.
fn lex_string(chars: &[char], open: usize) -> Result<(String, usize), WhereError> {
    let mut value = String::new();
    let mut at = open + 1;
    loop {
        match chars.get(at) {
            None => return Err(syntax(open + 1, "unterminated string".into())),
            Some('"') => return Ok((value, at + 1)),
            Some('\\') => match chars.get(at + 1) {
                Some(&escaped @ ('"' | '\\')) => {
                    value.push(escaped);
                    at += 2;
                }
                Some(other) => {
                    return Err(syntax(
                        at + 1,
                        format!("unknown escape \"\\{other}\" in a string (only \\\" and \\\\)"),
                    ));
                }
                None => return Err(syntax(open + 1, "unterminated string".into())),
            },
            Some(&c) => {
                value.push(c);
                at += 1;
            }
        }
    }
}

/// A decimal or `0x` number whose digits start at `chars[start]`; `negative` when a `-` came
/// just before. Returns the literal and the index after it.
fn lex_number(
    chars: &[char],
    start: usize,
    negative: bool,
) -> Result<(Literal, usize), WhereError> {
    let column = if negative { start } else { start + 1 };
    let mut end = start;
    while end < chars.len() && is_ident_char(chars[end]) {
        end += 1;
    }
    let word: String = chars[start..end].iter().collect();
    let shown = || shorten(&format!("{}{word}", if negative { "-" } else { "" }), 80);
    let invalid = || syntax(column, format!("invalid number \"{}\"", shown()));
    let too_big = || syntax(column, format!("{} does not fit in 256 bits", shown()));
    if let Some(digits) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        if negative || digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        return Ok((Literal::Hex(digits.to_ascii_lowercase()), end));
    }
    if !word.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid());
    }
    let magnitude = U256::from_str_radix(&word, 10).map_err(|_| too_big())?;
    if negative && magnitude > int_min_magnitude() {
        return Err(too_big());
    }
    let negative = negative && !magnitude.is_zero();
    Ok((
        Literal::Number {
            negative,
            magnitude,
        },
        end,
    ))
}

/// 2^255, the magnitude of the smallest int256.
fn int_min_magnitude() -> U256 {
    U256::from(1) << 255
}

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
mod tests {
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
}
