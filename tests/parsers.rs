//! Property tests of everything that parses outside input: rule-set,
//! jurisdiction, instrument and language files (mutations of the shipped ones
//! and arbitrary text), bearer tokens, and the language check over arbitrary
//! text. Nothing may panic; errors are values. Cases per property: 256, or
//! `PROPTEST_CASES`.

use std::path::Path;

use proptest::prelude::*;
use scir_kit::auth::{Role, Verifier};

fn shipped(dir: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("directory")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| {
            let path = e.path();
            (
                path.file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read_to_string(&path).expect("file"),
            )
        })
        .collect();
    files.sort();
    files
}

/// One edit of a text: insert, delete or replace at a char boundary.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    Replace(usize, char),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), "\\PC{0,12}|[\\[\\]=\"'#{},.\\n]{1,4}")
            .prop_map(|(at, s)| Edit::Insert(at, s)),
        (any::<usize>(), 0usize..40).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), any::<char>()).prop_map(|(at, c)| Edit::Replace(at, c)),
    ];
    proptest::collection::vec(edit, 1..6)
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let len = chars.len().max(1);
        match edit {
            Edit::Insert(at, s) => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, s.chars());
            }
            Edit::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            Edit::Replace(at, c) => {
                if !chars.is_empty() {
                    let at = at % chars.len();
                    chars[at] = *c;
                }
            }
        }
    }
    chars.into_iter().collect()
}

fn checker() -> &'static scir_review::domain::language::LanguageChecker {
    static CHECKER: std::sync::OnceLock<scir_review::domain::language::LanguageChecker> =
        std::sync::OnceLock::new();
    CHECKER.get_or_init(|| {
        scir_review::domain::language::LanguageChecker::shipped().expect("shipped list")
    })
}

proptest! {
    #[test]
    fn rule_set_files_never_panic(file in 0usize..16, edits in edits()) {
        let files = shipped("services/intake/rules");
        let (name, text) = &files[file % files.len()];
        let text = apply(text, &edits);
        let _ = scir_intake::domain::rules::RuleSet::parse(name, &text);
    }

    #[test]
    fn jurisdiction_files_never_panic(edits in edits()) {
        let text = apply(scir_kit::directory::SHIPPED.1, &edits);
        if let Ok(members) = scir_kit::directory::Directory::parse("j.toml", &text) {
            let _ = scir_intake::domain::jurisdictions::Directory::load(None, members);
        }
    }

    #[test]
    fn arbitrary_text_as_a_rule_set_never_panics(text in "\\PC{0,400}") {
        let _ = scir_intake::domain::rules::RuleSet::parse("fuzz.toml", &text);
    }

    #[test]
    fn instrument_files_never_panic(edits in edits()) {
        let files = shipped("services/scoring/instruments");
        let (name, text) = &files[0];
        let _ = scir_scoring::domain::instruments::Instrument::parse(name, &apply(text, &edits));
    }

    #[test]
    fn arbitrary_text_as_an_instrument_never_panics(text in "\\PC{0,400}") {
        let _ = scir_scoring::domain::instruments::Instrument::parse("fuzz.toml", &text);
    }

    #[test]
    fn language_files_never_panic(edits in edits()) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../services/review/language.toml");
        let text = std::fs::read_to_string(path).expect("language.toml");
        let _ = scir_review::domain::language::LanguageChecker::parse("language.toml", &apply(&text, &edits));
    }

    #[test]
    fn the_language_check_finds_real_spans_in_any_text(text in "\\PC{0,300}|([A-Z][a-z]{2,8} ){1,4}[0-9-]{0,12}") {
        let checker = checker();
        let chars: Vec<char> = text.chars().collect();
        for finding in checker.check(&text) {
            prop_assert!(finding.start < finding.end && finding.end <= chars.len(), "{finding:?}");
            let quoted: String = chars[finding.start..finding.end].iter().collect();
            prop_assert_eq!(&quoted, &finding.text);
        }
    }

    #[test]
    fn arbitrary_tokens_are_refused_without_panic(token in "\\PC{0,600}|[A-Za-z0-9_-]{10,80}\\.[A-Za-z0-9_-]{10,200}\\.[A-Za-z0-9_-]{0,90}") {
        let verifier = Verifier::from_config(&scir_testkit::auth_config()).expect("verifier");
        prop_assert!(verifier.verify(&token).is_err());
    }

    #[test]
    fn an_edited_token_is_refused_or_unchanged(edits in edits()) {
        let verifier = Verifier::from_config(&scir_testkit::auth_config()).expect("verifier");
        let token = scir_testkit::token_as("fuzz-user", &[Role::Reviewer], "us-wi");
        let edited = apply(&token, &edits);
        match verifier.verify(&edited) {
            Err(_) => {}
            // Only an edit that decodes to the same bytes (base64's unused
            // bits) may pass, and then it is the same caller.
            Ok(caller) => {
                prop_assert_eq!(caller.subject.as_str(), "fuzz-user");
                prop_assert_eq!(caller.jurisdiction.as_str(), "us-wi");
            }
        }
    }
}
