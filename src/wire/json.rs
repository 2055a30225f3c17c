//! Strict JSON: a document parsed to a [`Value`], refusing a key that appears twice in one
//! object. Lenient parsers keep the last (or the first) copy, so two systems reading the same
//! message could act on different amounts; txscore names the field instead.

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::fmt;

/// Why a document is not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrictJsonError {
    /// The field (dotted path) appears more than once in its object.
    DuplicateKey(String),
    Malformed(String),
}

/// Parses `text` as one JSON document with no duplicate keys.
pub fn parse(text: &str) -> Result<Value, StrictJsonError> {
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
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Value, E> {
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Node {
            path: self.path,
            duplicate: self.duplicate,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = Path::Key(self.path, &key);
            if object.contains_key(&key) {
                let named = path.to_string();
                let error = A::Error::custom(format!("duplicate key `{named}`"));
                *self.duplicate.borrow_mut() = Some(named);
                return Err(error);
            }
            let value = map.next_value_seed(Node {
                path: &path,
                duplicate: self.duplicate,
            })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_serde_json_parses() {
        let text = r#"{"a":[1,-2,3.5,"x",null,true],"b":{"c":{}}}"#;
        assert_eq!(
            parse(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
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
        assert!(parse(r#"{"a":{"id":1},"b":{"id":2}}"#).is_ok());
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
