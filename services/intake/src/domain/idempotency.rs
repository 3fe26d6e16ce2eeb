//! What a report's `request_id` remembers of the request, and when a second
//! call with the same id is the same request.
//!
//! Two keyed fingerprints are kept: one of the facts every reader of the
//! incident may see, one of the restricted identity. A replay is compared on
//! the identity only for callers entitled to it (those who may read identities,
//! and the caller who reported it), so for everyone else the answer never
//! depends on fields they may not read, and nothing in the database lets a
//! guess at an identity be tested without the data key.

use scir_kit::sealing::Sealer;

const FACTS: &str = "intake request facts";
const IDENTITY: &str = "intake request identity";

/// The fingerprints of one request, as stored with its incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPrint(String);

impl RequestPrint {
    /// The fingerprints of a request whose public facts encode to `facts` and
    /// restricted identity to `identity`.
    pub fn of(sealer: &Sealer, facts: &[u8], identity: &[u8]) -> Self {
        Self(format!(
            "{};{}",
            sealer.fingerprint(FACTS, facts),
            sealer.fingerprint(IDENTITY, identity)
        ))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a replay is the request that `stored` remembers: its public facts
/// match, and, when `compare_identity`, its identity too. A stored value this
/// sealer cannot check (an unkeyed hash from before fingerprints, or a key no
/// longer listed) matches nothing.
pub fn same_request(
    sealer: &Sealer,
    stored: &str,
    facts: &[u8],
    identity: &[u8],
    compare_identity: bool,
) -> bool {
    let Some((facts_print, identity_print)) = stored.split_once(';') else {
        return false;
    };
    let facts_match = sealer.matches_fingerprint(facts_print, FACTS, facts) == Some(true);
    facts_match
        && (!compare_identity
            || sealer.matches_fingerprint(identity_print, IDENTITY, identity) == Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use scir_kit::sealing::SealingConfig;

    fn sealer(byte: u8) -> Sealer {
        let key = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        Sealer::from_config(&SealingConfig {
            keys: Some(format!("k1:{key}")),
            active: None,
        })
        .expect("sealer")
    }

    #[test]
    fn an_identity_decides_only_for_those_entitled_to_it() {
        let s = sealer(1);
        let stored = RequestPrint::of(&s, b"facts", b"Jane Roe");
        let stored = stored.as_str();
        assert!(same_request(&s, stored, b"facts", b"Jane Roe", true));
        assert!(!same_request(&s, stored, b"facts", b"John Doe", true));
        // Not entitled: a right and a wrong guess get the same answer.
        assert_eq!(
            same_request(&s, stored, b"facts", b"Jane Roe", false),
            same_request(&s, stored, b"facts", b"John Doe", false)
        );
        assert!(!same_request(
            &s,
            stored,
            b"other facts",
            b"Jane Roe",
            false
        ));
    }

    #[test]
    fn the_stored_value_reveals_nothing_without_the_key() {
        let s = sealer(1);
        let stored = RequestPrint::of(&s, b"facts", b"Jane Roe");
        assert!(!stored.as_str().contains("Jane"));
        // Another deployment's key (or none) cannot test a guess.
        assert!(!same_request(
            &sealer(2),
            stored.as_str(),
            b"facts",
            b"Jane Roe",
            true
        ));
        // A legacy unkeyed hash matches nothing.
        assert!(!same_request(
            &s,
            &"a".repeat(64),
            b"facts",
            b"Jane Roe",
            false
        ));
    }
}
