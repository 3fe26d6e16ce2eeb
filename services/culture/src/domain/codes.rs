//! One-time invitation codes: 80 random bits in Crockford's base 32, grouped
//! for reading aloud, kept only as a SHA-256 hash. A guess succeeds with odds
//! of one in 2^80 per issued code, so the hash needs no salt.

use sha2::{Digest, Sha256};

/// Crockford's base 32: no I, L, O or U to misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a code.
const LENGTH: usize = 16;

/// A fresh code, e.g. `7K2M-QX4P-0R8T-VW3Z`.
pub fn fresh() -> String {
    let mut bytes = [0u8; LENGTH];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    let symbols: Vec<char> = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % 32]))
        .collect();
    symbols
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A code as typed, read the way Crockford's alphabet reads it (any case,
/// dashes and spaces ignored, O as 0, I and L as 1); `None` when it cannot be
/// a code.
pub fn normalise(text: &str) -> Option<String> {
    let out: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (out.len() == LENGTH && out.bytes().all(|b| ALPHABET.contains(&b))).then_some(out)
}

/// The stored form of a normalised code.
pub fn hash(normalised: &str) -> String {
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_read_back_however_typed() {
        let a = fresh();
        assert_eq!(a.len(), 19);
        assert_ne!(a, fresh());
        let typed = a.to_lowercase().replace('-', " ");
        assert_eq!(
            normalise(&typed).as_deref(),
            Some(a.replace('-', "").as_str())
        );
        assert_eq!(
            normalise("0000-0000-0000-000O"),
            normalise("0000000000000000")
        );
        assert!(normalise("short").is_none());
        assert!(normalise("UUUU-UUUU-UUUU-UUUU").is_none());
        assert_ne!(hash("A"), hash("B"));
    }
}
