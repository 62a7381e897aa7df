//! How `kprod produce` splits a line into headers, key and value: the
//! reader properties of Kafka's console producer (`--property`, also
//! spelt `--reader-property`), with its names, defaults and rules:
//!
//! | property | default | meaning |
//! | --- | --- | --- |
//! | `parse.key` | `false` | the line has a key before `key.separator` |
//! | `key.separator` | tab | between key and value |
//! | `parse.headers` | `false` | the line starts with headers, up to `headers.delimiter` |
//! | `headers.delimiter` | tab | between the headers and the rest |
//! | `headers.separator` | `,` | between two headers |
//! | `headers.key.separator` | `:` | between a header's key and value |
//! | `null.marker` | none | a key, value or header value equal to it is null |
//! | `ignore.error` | `false` | a missing separator is not an error: no key (or headers), and a header without `:` has a null value |
//!
//! So with `parse.headers=true` and `parse.key=true`, the line
//! `h1:v1,h2:v2<TAB>key<TAB>value` is a record with two headers. The
//! separators and the marker must differ from each other, as Java checks.
//! Unlike Java, `headers.separator` is a plain string, not a regular
//! expression, and a line that breaks the format fails as one record (the
//! error names the line) instead of ending the run.
//!
//! kprod's own `--key-separator SEP` is `parse.key=true`, `key.separator=SEP`,
//! except that a line without SEP is a record with a null key (as before
//! these properties existed). `--header K=V` headers go on every record,
//! after the line's own.

use bytes::Bytes;

/// A line's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parts {
    pub(crate) headers: Vec<(String, Option<Bytes>)>,
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
}

/// The reader properties, checked.
#[derive(Debug, Clone)]
pub(crate) struct LineFormat {
    parse_key: bool,
    key_separator: Vec<u8>,
    /// `--key-separator`: a line without the separator has a null key.
    lenient_key: bool,
    parse_headers: bool,
    headers_delimiter: Vec<u8>,
    headers_separator: Vec<u8>,
    headers_key_separator: Vec<u8>,
    null_marker: Option<Vec<u8>>,
    ignore_error: bool,
}

impl Default for LineFormat {
    fn default() -> Self {
        LineFormat {
            parse_key: false,
            key_separator: b"\t".to_vec(),
            lenient_key: false,
            parse_headers: false,
            headers_delimiter: b"\t".to_vec(),
            headers_separator: b",".to_vec(),
            headers_key_separator: b":".to_vec(),
            null_marker: None,
            ignore_error: false,
        }
    }
}

fn is_true(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("true")
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| at + from)
}

impl LineFormat {
    /// From `--key-separator` and the `--property` list (later wins).
    pub(crate) fn new(
        key_separator: Option<&str>,
        properties: &[(String, String)],
    ) -> Result<LineFormat, String> {
        let mut f = LineFormat::default();
        if let Some(sep) = key_separator {
            if sep.is_empty() {
                return Err("--key-separator must not be empty".to_owned());
            }
            f.parse_key = true;
            f.lenient_key = true;
            f.key_separator = sep.as_bytes().to_vec();
        }
        for (key, value) in properties {
            let bytes = value.as_bytes().to_vec();
            match key.as_str() {
                "parse.key" => {
                    f.parse_key = is_true(value);
                    f.lenient_key = false;
                }
                "key.separator" => f.key_separator = bytes,
                "parse.headers" => f.parse_headers = is_true(value),
                "headers.delimiter" => f.headers_delimiter = bytes,
                "headers.separator" => f.headers_separator = bytes,
                "headers.key.separator" => f.headers_key_separator = bytes,
                "null.marker" => f.null_marker = Some(bytes),
                "ignore.error" => f.ignore_error = is_true(value),
                _ => {
                    return Err(format!(
                        "unknown reader property {key:?} (the console producer's: parse.key, \
                         key.separator, parse.headers, headers.delimiter, headers.separator, \
                         headers.key.separator, null.marker, ignore.error)"
                    ));
                }
            }
        }
        for (name, sep) in [
            ("key.separator", &f.key_separator),
            ("headers.delimiter", &f.headers_delimiter),
            ("headers.separator", &f.headers_separator),
            ("headers.key.separator", &f.headers_key_separator),
        ] {
            if sep.is_empty() {
                return Err(format!("{name} must not be empty"));
            }
        }
        let pairs = [
            ("headers.delimiter", "headers.separator"),
            ("headers.delimiter", "headers.key.separator"),
            ("headers.separator", "headers.key.separator"),
            ("null.marker", "key.separator"),
            ("null.marker", "headers.separator"),
            ("null.marker", "headers.delimiter"),
            ("null.marker", "headers.key.separator"),
        ];
        for (a, b) in pairs {
            if f.get(a).is_some() && f.get(a) == f.get(b) {
                return Err(format!("{a} and {b} may not be equal"));
            }
        }
        Ok(f)
    }

    fn get(&self, name: &str) -> Option<&[u8]> {
        match name {
            "key.separator" => Some(&self.key_separator),
            "headers.delimiter" => Some(&self.headers_delimiter),
            "headers.separator" => Some(&self.headers_separator),
            "headers.key.separator" => Some(&self.headers_key_separator),
            "null.marker" => self.null_marker.as_deref(),
            _ => None,
        }
    }

    fn nullable(&self, bytes: &[u8]) -> Option<Bytes> {
        (self.null_marker.as_deref() != Some(bytes)).then(|| Bytes::copy_from_slice(bytes))
    }

    /// Splits line number `number` (from 1, without its line ending).
    pub(crate) fn parse(&self, line: &[u8], number: u64) -> Result<Parts, String> {
        let mut at = 0;
        let mut headers = Vec::new();
        if self.parse_headers {
            match find(line, &self.headers_delimiter, 0) {
                Some(end) => {
                    let text = &line[..end];
                    at = end + self.headers_delimiter.len();
                    if self.null_marker.as_deref() != Some(text) {
                        headers = self.headers(text, number)?;
                    }
                }
                None if self.ignore_error => {}
                None => return Err(format!("line {number}: no headers delimiter")),
            }
        }
        let mut key = None;
        if self.parse_key {
            match find(line, &self.key_separator, at) {
                Some(end) => {
                    key = self.nullable(&line[at..end]);
                    at = end + self.key_separator.len();
                }
                None if self.ignore_error || self.lenient_key => {}
                None => return Err(format!("line {number}: no key separator")),
            }
        }
        Ok(Parts {
            headers,
            key,
            value: self.nullable(&line[at..]),
        })
    }

    fn headers(&self, text: &[u8], number: u64) -> Result<Vec<(String, Option<Bytes>)>, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        loop {
            match find(rest, &self.headers_separator, 0) {
                Some(end) => {
                    pieces.push(&rest[..end]);
                    rest = &rest[end + self.headers_separator.len()..];
                }
                None => {
                    pieces.push(rest);
                    break;
                }
            }
        }
        // Java's String.split drops trailing empty pieces.
        while pieces.last().is_some_and(|p| p.is_empty()) {
            pieces.pop();
        }
        pieces
            .into_iter()
            .map(|pair| match find(pair, &self.headers_key_separator, 0) {
                Some(i) => {
                    let key = &pair[..i];
                    if self.null_marker.as_deref() == Some(key) {
                        return Err(format!(
                            "line {number}: a header key may not be the null marker"
                        ));
                    }
                    let value = &pair[i + self.headers_key_separator.len()..];
                    Ok((
                        String::from_utf8_lossy(key).into_owned(),
                        self.nullable(value),
                    ))
                }
                None if self.ignore_error => Ok((String::from_utf8_lossy(pair).into_owned(), None)),
                None => Err(format!(
                    "line {number}: no header key separator in {:?}",
                    String::from_utf8_lossy(pair)
                )),
            })
            .collect()
    }
}

/// Parses a `--header` argument: `key=value`, or `key` for a null value;
/// an empty key is an error.
pub(crate) fn parse_header(arg: &str) -> Result<(String, Option<Bytes>), String> {
    let (key, value) = match arg.split_once('=') {
        Some((k, v)) => (k, Some(Bytes::copy_from_slice(v.as_bytes()))),
        None => (arg, None),
    };
    if key.is_empty() {
        return Err(format!("--header {arg:?}: the header key is empty"));
    }
    Ok((key.to_owned(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn b(s: &str) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn headers_key_and_value_as_the_console_producer_splits_them() {
        let f = LineFormat::new(
            None,
            &props(&[("parse.headers", "true"), ("parse.key", "true")]),
        )
        .unwrap();
        let p = f.parse(b"h1:v1,h2:v2\tkey\tvalue\twith tab", 1).unwrap();
        assert_eq!(
            p.headers,
            [("h1".to_owned(), b("v1")), ("h2".to_owned(), b("v2"))]
        );
        assert_eq!(p.key, b("key"));
        assert_eq!(p.value, b("value\twith tab"));
        assert!(
            f.parse(b"h:v\tno key separator", 2)
                .unwrap_err()
                .contains("line 2")
        );
        assert!(
            f.parse(b"novalue\tk\tv", 3)
                .unwrap_err()
                .contains("header key")
        );
    }

    #[test]
    fn the_null_marker_makes_nulls() {
        let f = LineFormat::new(
            None,
            &props(&[
                ("parse.headers", "true"),
                ("parse.key", "true"),
                ("null.marker", "<null>"),
            ]),
        )
        .unwrap();
        let p = f.parse(b"h:<null>\t<null>\t<null>", 1).unwrap();
        assert_eq!(p.headers, [("h".to_owned(), None)]);
        assert_eq!((p.key, p.value), (None, None));
        let p = f.parse(b"<null>\tk\tv", 1).unwrap();
        assert!(p.headers.is_empty());
        assert!(f.parse(b"<null>:v\tk\tv", 1).is_err());
    }

    #[test]
    fn ignore_error_and_the_lenient_key_separator() {
        let f = LineFormat::new(
            None,
            &props(&[
                ("parse.headers", "true"),
                ("parse.key", "true"),
                ("ignore.error", "true"),
            ]),
        )
        .unwrap();
        let p = f.parse(b"plain", 1).unwrap();
        assert_eq!((p.key, p.value), (None, b("plain")));
        let p = f.parse(b"flag\tk\tv", 1).unwrap();
        assert_eq!(p.headers, [("flag".to_owned(), None)]);
        let f = LineFormat::new(Some("::"), &[]).unwrap();
        assert_eq!(f.parse(b"k::v::w", 1).unwrap().key, b("k"));
        assert_eq!(f.parse(b"no separator", 1).unwrap().key, None);
    }

    #[test]
    fn bad_formats_are_refused() {
        for list in [
            &[("headers.separator", "\t")][..],
            &[("null.marker", "\t")],
            &[("key.separator", "")],
            &[("parse.keys", "true")],
        ] {
            assert!(LineFormat::new(None, &props(list)).is_err(), "{list:?}");
        }
        assert!(parse_header("=v").is_err());
        assert!(parse_header("").is_err());
        assert_eq!(parse_header("k").unwrap(), ("k".to_owned(), None));
        assert_eq!(parse_header("k=a=b").unwrap(), ("k".to_owned(), b("a=b")));
    }
}
