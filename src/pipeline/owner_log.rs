//! The owner log's record format. With `pipeline.member_ordered`, every valid input is forwarded
//! once to the `by_owner` topic: keyed by its owner's tag (`m:<member>`, `c:<card>`), so all of
//! an owner's inputs share one partition and one order; its payload unchanged; the broker
//! timestamp of the record it came from; and headers saying what kind of input it is and
//! naming that record, so a dead letter raised when it is scored still points at the message
//! its sender produced. The kind is written as a name, not as the topic, so the owner log
//! reads the same after input topics are renamed.

use super::inputs::InputKind;
use crate::store::Owner;
use crate::wire::SourcePosition;

const KIND: &str = "txscore-input";
const TOPIC: &str = "txscore-topic";
const PARTITION: &str = "txscore-partition";
const OFFSET: &str = "txscore-offset";
const KEY: &str = "txscore-key";

/// What a routed input is and where it was consumed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub kind: InputKind,
    pub source: SourcePosition,
    /// The source record's key, if it had one.
    pub key: Option<Vec<u8>>,
    /// The broker timestamp of the source record, kept as the routed record's own.
    pub timestamp_ms: Option<i64>,
}

impl Origin {
    /// The headers a routed record carries, as (name, value).
    pub fn headers(&self) -> Vec<(&'static str, Vec<u8>)> {
        let mut headers = vec![
            (KIND, self.kind.as_str().as_bytes().to_vec()),
            (TOPIC, self.source.topic.clone().into_bytes()),
            (PARTITION, self.source.partition.to_string().into_bytes()),
            (OFFSET, self.source.offset.to_string().into_bytes()),
        ];
        if let Some(key) = &self.key {
            headers.push((KEY, key.clone()));
        }
        headers
    }
}

/// What routing decided for an input: its owner and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub owner: Owner,
    pub kind: InputKind,
}

/// A record read back from the owner log.
#[derive(Debug, PartialEq, Eq)]
pub struct RoutedRecord<'a> {
    pub routed: Routed,
    pub source: SourcePosition,
    pub key: Option<&'a [u8]>,
}

/// Reads a record's owner (its key) and origin (its headers), or says what is missing. Only
/// txscore writes the owner log, so an unreadable record means someone else did.
pub fn read<'a>(
    key: Option<&[u8]>,
    headers: &[(&str, &'a [u8])],
) -> Result<RoutedRecord<'a>, String> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(found, _)| *found == name)
            .map(|(_, value)| *value)
    };
    let text = |name: &str| {
        header(name)
            .and_then(|value| std::str::from_utf8(value).ok())
            .ok_or_else(|| format!("owner log record without a readable `{name}` header"))
    };
    let owner = key
        .and_then(|key| std::str::from_utf8(key).ok())
        .and_then(Owner::from_tag)
        .ok_or("owner log record whose key is not an owner tag (`m:<member>` or `c:<card>`)")?;
    let number = |name: &str| {
        text(name)?
            .parse::<i64>()
            .map_err(|_| format!("owner log record whose `{name}` header is not a number"))
    };
    let partition = i32::try_from(number(PARTITION)?)
        .map_err(|_| format!("owner log record whose `{PARTITION}` header is out of range"))?;
    let kind = InputKind::from_name(text(KIND)?)
        .ok_or_else(|| format!("owner log record whose `{KIND}` header names no input kind"))?;
    Ok(RoutedRecord {
        routed: Routed { owner, kind },
        source: SourcePosition {
            topic: text(TOPIC)?.to_owned(),
            partition,
            offset: number(OFFSET)?,
        },
        key: header(KEY),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(key: Option<&[u8]>) -> Origin {
        Origin {
            kind: InputKind::Command,
            source: SourcePosition {
                topic: "transactions".into(),
                partition: 3,
                offset: 41,
            },
            key: key.map(<[u8]>::to_vec),
            timestamp_ms: Some(1_700_000_000_000),
        }
    }

    fn read_back(
        origin: &Origin,
        key: &[u8],
    ) -> Result<(Routed, SourcePosition, Option<Vec<u8>>), String> {
        let headers = origin.headers();
        let borrowed: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(name, value)| (*name, value.as_slice()))
            .collect();
        let routed = read(Some(key), &borrowed)?;
        Ok((routed.routed, routed.source, routed.key.map(<[u8]>::to_vec)))
    }

    #[test]
    fn a_routed_record_reads_back_its_owner_and_origin() {
        let with_key = origin(Some(b"tok_1"));
        assert_eq!(
            read_back(&with_key, b"m:M-1").unwrap(),
            (
                Routed {
                    owner: Owner::Member("M-1".into()),
                    kind: InputKind::Command
                },
                with_key.source.clone(),
                Some(b"tok_1".to_vec())
            )
        );
        let without = origin(None);
        assert_eq!(
            read_back(&without, b"c:tok_9").unwrap(),
            (
                Routed {
                    owner: Owner::Card("tok_9".into()),
                    kind: InputKind::Command
                },
                without.source.clone(),
                None
            )
        );
    }

    #[test]
    fn a_record_txscore_did_not_write_is_refused_with_the_reason() {
        let good = origin(None).headers();
        let borrowed: Vec<(&str, &[u8])> = good
            .iter()
            .map(|(name, value)| (*name, value.as_slice()))
            .collect();
        let error = read(Some(b"M-1"), &borrowed).unwrap_err();
        assert!(error.contains("not an owner tag"), "{error}");
        assert!(read(None, &borrowed).is_err());
        let error = read(Some(b"m:M-1"), &borrowed[..3]).unwrap_err();
        assert!(error.contains("`txscore-offset`"), "{error}");
        let replaced = |at: usize, name: &'static str, value: &'static [u8]| {
            let mut headers = borrowed.clone();
            headers[at] = (name, value);
            read(Some(b"m:M-1"), &headers).unwrap_err()
        };
        let error = replaced(2, PARTITION, b"99999999999");
        assert!(error.contains("out of range"), "{error}");
        let error = replaced(3, OFFSET, b"4x");
        assert!(error.contains("not a number"), "{error}");
        let error = replaced(0, KIND, b"commands");
        assert!(error.contains("names no input kind"), "{error}");
    }
}
