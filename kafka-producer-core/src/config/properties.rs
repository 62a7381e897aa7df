//! The text of a Java `.properties` file, read as `java.util.Properties.load`
//! reads it.
//!
//! The rules, all of them Java's:
//!
//! - Lines end at `\n`, `\r` or `\r\n`. Whitespace is space, tab and form
//!   feed; it is skipped at the start of every line.
//! - A line whose first other character is `#` or `!` is a comment; a line
//!   with nothing else is blank. Both are skipped.
//! - A line ending in an odd number of backslashes goes on at the next line:
//!   the backslash goes, and so does the next line's leading whitespace. (A
//!   comment line never goes on; at the end of the text the backslash is
//!   simply dropped.)
//! - The key runs up to the first `=`, `:` or whitespace that is not escaped
//!   by a backslash. Whitespace after it is skipped, then at most one `=` or
//!   `:`, then whitespace again; the rest of the line is the value (trailing
//!   whitespace included).
//! - In keys and values, `\t`, `\n`, `\r`, `\f` and `\uXXXX` are escapes; a
//!   backslash before any other character stands for that character.
//!
//! Why not the `java-properties` crate (2.0, measured 2026-12-04 on the text
//! of `tests/tests/java_config.rs`, which Java itself reads there): it drops
//! an entry whose last line ends in a continuation backslash at the end of
//! the text (`last=tail\` gives no `last`; Java gives `last=tail`), and it
//! reads bytes, not the text the loader has already decoded. This reader
//! matches `Properties.load` on that whole text.
//!
//! The one difference: this reads text, so the caller decodes the bytes
//! first. `Properties.load(InputStream)`, which Kafka's tools use, decodes
//! ISO-8859-1; the runtime crates' file loader decodes UTF-8 and falls back
//! to ISO-8859-1 when the file is not UTF-8, which gives the same result for
//! every ASCII and every ISO-8859-1 file.

use std::fmt;

/// A `.properties` text that cannot be read: a malformed `\uXXXX` escape (the
/// only error Java's reader has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertiesError {
    /// The line (from 1) where the entry with the bad escape starts.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for PropertiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for PropertiesError {}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// The entries of a `.properties` text, in the order they appear (a key
/// may appear more than once; with Java, the last one counts).
///
/// ```
/// use kafka_producer_core::config::parse_properties;
/// let entries = parse_properties(
///     "# a comment\nbootstrap.servers = broker1:9092,\\\n    broker2:9092\nacks:all\n",
/// )
/// .unwrap();
/// assert_eq!(
///     entries,
///     [
///         ("bootstrap.servers".to_owned(), "broker1:9092,broker2:9092".to_owned()),
///         ("acks".to_owned(), "all".to_owned()),
///     ]
/// );
/// ```
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>, PropertiesError> {
    let mut entries = Vec::new();
    for (line, logical) in logical_lines(text) {
        let (key, value) = split_entry(&logical);
        let unescape = |s: &[char]| {
            unescape(s).map_err(|reason| PropertiesError {
                line,
                reason: reason.to_owned(),
            })
        };
        entries.push((unescape(key)?, unescape(value)?));
    }
    Ok(entries)
}

/// The logical lines (continuations joined, comments and blank lines gone,
/// escapes still in), each with the number of the line it starts on.
fn logical_lines(text: &str) -> Vec<(usize, Vec<char>)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line_no = 1;
    loop {
        // The start of a logical line: skip whitespace and blank lines.
        let mut start = line_no;
        loop {
            match chars.peek() {
                Some(&c) if is_space(c) => {
                    chars.next();
                }
                Some('\n') => {
                    chars.next();
                    line_no += 1;
                    start = line_no;
                }
                Some('\r') => {
                    chars.next();
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    line_no += 1;
                    start = line_no;
                }
                _ => break,
            }
        }
        let Some(&first) = chars.peek() else {
            return out;
        };
        if first == '#' || first == '!' {
            while let Some(c) = chars.next() {
                if c == '\n' || c == '\r' {
                    if c == '\r' && chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    line_no += 1;
                    break;
                }
            }
            continue;
        }
        let mut logical = Vec::new();
        // Backslashes in a row at the end of what was read so far.
        let mut trailing_backslashes = 0usize;
        loop {
            match chars.next() {
                None => {
                    // At the end of the text a continuation backslash is dropped.
                    if trailing_backslashes % 2 == 1 {
                        logical.pop();
                    }
                    out.push((start, logical));
                    return out;
                }
                Some(c @ ('\n' | '\r')) => {
                    if c == '\r' && chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    line_no += 1;
                    if trailing_backslashes % 2 == 0 {
                        break;
                    }
                    // Continued: drop the backslash and the next line's indent.
                    logical.pop();
                    trailing_backslashes = 0;
                    while chars.peek().is_some_and(|&c| is_space(c)) {
                        chars.next();
                    }
                }
                Some(c) => {
                    trailing_backslashes = if c == '\\' {
                        trailing_backslashes + 1
                    } else {
                        0
                    };
                    logical.push(c);
                }
            }
        }
        out.push((start, logical));
    }
}

/// Splits a logical line into its raw key and value.
fn split_entry(line: &[char]) -> (&[char], &[char]) {
    let mut key_end = line.len();
    let mut value_start = line.len();
    let mut has_separator = false;
    let mut escaped = false;
    for (i, &c) in line.iter().enumerate() {
        if !escaped && (c == '=' || c == ':') {
            key_end = i;
            value_start = i + 1;
            has_separator = true;
            break;
        }
        if !escaped && is_space(c) {
            key_end = i;
            value_start = i + 1;
            break;
        }
        escaped = c == '\\' && !escaped;
    }
    while let Some(&c) = line.get(value_start) {
        if !is_space(c) {
            if !has_separator && (c == '=' || c == ':') {
                has_separator = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    (&line[..key_end], &line[value_start..])
}

/// Resolves the escapes of a key or value.
fn unescape(raw: &[char]) -> Result<String, &'static str> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.iter().copied();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => {
                let mut code = 0u32;
                for _ in 0..4 {
                    let digit = chars
                        .next()
                        .and_then(|d| d.to_digit(16))
                        .ok_or("malformed \\uxxxx escape")?;
                    code = code * 16 + digit;
                }
                // A lone surrogate half (Java keeps it in a UTF-16 string) has
                // no place in a Rust string: it becomes U+FFFD.
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_properties(text).unwrap()
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn separators_comments_and_blank_lines() {
        let text = "# comment\n! also\n\n   \na=1\nb:2\nc 3\nd   =   4  \ne\n  f = = 5\n";
        assert_eq!(
            pairs(text),
            [
                p("a", "1"),
                p("b", "2"),
                p("c", "3"),
                p("d", "4  "),
                p("e", ""),
                p("f", "= 5")
            ]
        );
    }

    #[test]
    fn continuations_join_lines_and_drop_the_indent() {
        let text = "list = a,\\\n      b,\\\r\n\tc\nx = y\\\\\nz=\\\n";
        assert_eq!(pairs(text), [p("list", "a,b,c"), p("x", "y\\"), p("z", "")]);
        // A comment never continues; a continued line may look like one.
        assert_eq!(pairs("# c \\\nk=v"), [p("k", "v")]);
        assert_eq!(pairs("k=a\\\n#b"), [p("k", "a#b")]);
        // Line numbers count natural lines.
        let err = parse_properties("a=1\\\n 2\n\nb=\\u12").unwrap_err();
        assert_eq!(err.line, 4);
    }

    #[test]
    fn escapes_in_keys_and_values() {
        assert_eq!(
            pairs("a\\=b\\ c=\\t\\n\\u0041\\x\\\\"),
            [p("a=b c", "\t\nAx\\")]
        );
        assert_eq!(pairs("\\#k=v"), [p("#k", "v")]);
        assert!(parse_properties("k=\\uZZZZ").is_err());
        assert_eq!(pairs("k=\\ud800"), [p("k", "\u{fffd}")]);
    }

    #[test]
    fn line_endings_of_every_kind() {
        assert_eq!(
            pairs("a=1\rb=2\r\nc=3"),
            [p("a", "1"), p("b", "2"), p("c", "3")]
        );
        assert_eq!(pairs(""), []);
        assert_eq!(pairs("k"), [p("k", "")]);
    }
}
