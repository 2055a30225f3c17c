//! Strict JSON: a document parsed to a [`Json`] tree, refusing a key that appears twice in one
//! object. Lenient parsers keep the last (or the first) copy, so two systems reading the same
//! message could act on different amounts; txscore names the field instead.
//!
//! The tree borrows from the text: a string or key without escapes is a slice of it, and an
//! object is its entries in order, so a message is read with few allocations. Objects are
//! small, so a key is looked up by a scan; duplicates are found by a scan too, up to
//! [`SCAN_LIMIT`] keys, and by a hash set beyond, so a hostile object of thousands of keys
//! costs linear time.

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::Number;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

/// Keys an object may have before duplicates are looked for in a hash set instead of a scan.
const SCAN_LIMIT: usize = 32;

/// Why a document is not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrictJsonError {
    /// The field (dotted path) appears more than once in its object.
    DuplicateKey(String),
    Malformed(String),
}

/// A JSON value borrowing its strings from the parsed text where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

impl Json<'_> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    /// The value as an `i64`, if it is a whole number in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(number) => number.as_i64(),
            _ => None,
        }
    }
}

/// A JSON object: its entries in document order, each key once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object<'a> {
    entries: Vec<(Cow<'a, str>, Json<'a>)>,
}

impl<'a> Object<'a> {
    /// The value under `key`, if the object has it.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.entries
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }
}

/// Parses `text` as one JSON document with no duplicate keys.
pub fn parse(text: &str) -> Result<Json<'_>, StrictJsonError> {
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = Node {
        path: &Path::Root,
        duplicate: &duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    parsed.map_err(|error| match duplicate.into_inner() {
        Some(path) => StrictJsonError::DuplicateKey(path),
        None => StrictJsonError::Malformed(error.to_string()),
    })
}

/// Where in the document a value stands, without allocating on the way down.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
        }
    }
}

/// Deserialises one value at `path`, noting the first duplicate key it meets.
struct Node<'a> {
    path: &'a Path<'a>,
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Json<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Json<'de>, E> {
        Number::from_f64(value)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E>(self, value: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value)))
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Node {
            path: self.path,
            duplicate: self.duplicate,
        })? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut entries: Vec<(Cow<'de, str>, Json<'de>)> = Vec::new();
        let mut seen: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(key) = map.next_key_seed(Key)? {
            let repeated = match &mut seen {
                Some(seen) => !seen.insert(key.clone()),
                None => entries.iter().any(|(name, _)| *name == key),
            };
            if repeated {
                let named = Path::Key(self.path, &key).to_string();
                let error = A::Error::custom(format!("duplicate key `{named}`"));
                *self.duplicate.borrow_mut() = Some(named);
                return Err(error);
            }
            let value = map.next_value_seed(Node {
                path: &Path::Key(self.path, &key),
                duplicate: self.duplicate,
            })?;
            entries.push((key, value));
            if seen.is_none() && entries.len() == SCAN_LIMIT {
                seen = Some(entries.iter().map(|(name, _)| name.clone()).collect());
            }
        }
        Ok(Json::Object(Object { entries }))
    }
}

/// An object key, borrowed from the text unless it holds an escape.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The tree as serde_json's own `Value`, to hold the parser to serde_json's reading.
    fn as_value(json: &Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(flag) => Value::Bool(*flag),
            Json::Number(number) => Value::Number(number.clone()),
            Json::String(text) => Value::String(text.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(as_value).collect()),
            Json::Object(object) => Value::Object(
                object
                    .entries
                    .iter()
                    .map(|(key, value)| (key.to_string(), as_value(value)))
                    .collect(),
            ),
        }
    }

    #[test]
    fn parses_what_serde_json_parses() {
        let text = r#"{"a":[1,-2,3.5,"x",null,true],"b":{"c":{}},"e\"s\u00e9":"q\"\\\n\u20ac"}"#;
        assert_eq!(
            as_value(&parse(text).unwrap()),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn plain_strings_and_keys_are_borrowed_escaped_ones_read_through_their_escapes() {
        let Json::Object(object) = parse(r#"{"plain":"text","esc\u0061ped":"a\"b"}"#).unwrap()
        else {
            panic!("an object");
        };
        assert!(matches!(object.entries[0].0, Cow::Borrowed("plain")));
        assert!(matches!(
            object.entries[0].1,
            Json::String(Cow::Borrowed("text"))
        ));
        assert_eq!(object.get("escaped").and_then(Json::as_str), Some("a\"b"));
        assert_eq!(object.get("missing"), None);
    }

    #[test]
    fn a_repeated_key_is_named_by_its_path() {
        assert_eq!(
            parse(r#"{"amount":"1.00","amount":"999999.00"}"#),
            Err(StrictJsonError::DuplicateKey("amount".into()))
        );
        assert_eq!(
            parse(r#"{"merchant":{"id":"A","mcc":"5411","id":"B"}}"#),
            Err(StrictJsonError::DuplicateKey("merchant.id".into()))
        );
        assert_eq!(
            parse(r#"{"amount":"1.00","\u0061mount":"2.00"}"#),
            Err(StrictJsonError::DuplicateKey("amount".into()))
        );
        assert!(parse(r#"{"a":{"id":1},"b":{"id":2}}"#).is_ok());
    }

    #[test]
    fn a_repeated_key_is_found_in_objects_of_any_size() {
        let object = |keys: &[String]| {
            let fields: Vec<String> = keys.iter().map(|key| format!("\"{key}\":0")).collect();
            format!("{{{}}}", fields.join(","))
        };
        for size in [SCAN_LIMIT - 1, SCAN_LIMIT, SCAN_LIMIT + 1, 5_000] {
            let mut keys: Vec<String> = (0..size).map(|n| format!("k{n}")).collect();
            assert!(parse(&object(&keys)).is_ok(), "{size} distinct keys");
            for repeated in [0, size / 2, size - 1] {
                keys.push(format!("k{repeated}"));
                assert_eq!(
                    parse(&object(&keys)),
                    Err(StrictJsonError::DuplicateKey(format!("k{repeated}"))),
                    "{size} keys, then k{repeated} again"
                );
                keys.pop();
            }
        }
    }

    #[test]
    fn trailing_text_and_deep_nesting_are_malformed_not_a_crash() {
        assert!(matches!(
            parse(r#"{} {}"#),
            Err(StrictJsonError::Malformed(_))
        ));
        let deep = "[".repeat(100_000);
        assert!(matches!(parse(&deep), Err(StrictJsonError::Malformed(_))));
    }
}
