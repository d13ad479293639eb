//! Lexing a `where` condition into tokens with their columns.

use super::*;

// ---- lexing ----------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
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
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) column: usize,
    /// The source text, for messages.
    pub(super) text: String,
}

impl Token {
    pub(super) fn found(&self) -> String {
        if self.kind == Kind::End {
            "the end of the condition".to_owned()
        } else {
            format!("\"{}\"", shorten(&self.text, 40))
        }
    }
}

pub(super) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

pub(super) fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub(super) fn keyword(word: &str) -> Option<Kind> {
    Some(match word.to_ascii_lowercase().as_str() {
        "and" => Kind::And,
        "or" => Kind::Or,
        "not" => Kind::Not,
        "true" => Kind::Literal(Literal::Bool(true)),
        "false" => Kind::Literal(Literal::Bool(false)),
        _ => return None,
    })
}

pub(super) fn lex(text: &str) -> Result<Vec<Token>, WhereError> {
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
pub(super) fn int_min_magnitude() -> U256 {
    U256::from(1) << 255
}
