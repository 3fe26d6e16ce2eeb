//! The protobuf contract at run time: every SCIR descriptor (and the
//! `google.rpc` status types) in one pool, with the contract's own comments.
//!
//! Top-level enums carry deprecated aliases, the names their values had before
//! they took the enum's prefix. The pool here leaves the aliases out, so that
//! every JSON answer (HTTP, webhooks, the CLI) names a value by its one
//! current name; [`enum_aliases`] keeps them for reading input. gRPC
//! reflection serves the contract as written, aliases included.

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, FileDescriptor};

/// The descriptors of every SCIR service, message and enum, decoded once,
/// without enum aliases (removed when the contract was compiled).
pub fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(scir_proto::ANSWER_DESCRIPTOR_SET)
            .expect("the descriptor set compiled into scir-proto decodes")
    })
}

/// The contract as written, enum aliases included: for tools that read JSON
/// files with the names from before the prefix (the CLI). Services read such
/// names with [`pool`] and [`enum_aliases`], without a second pool.
pub fn input_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(scir_proto::FILE_DESCRIPTOR_SET)
            .expect("the descriptor set compiled into scir-proto decodes")
    })
}

/// The deprecated aliases of the enum `full_name` (name, number), accepted on
/// input for the rest of v1 and never sent.
pub fn enum_aliases(full_name: &str) -> &'static [(&'static str, i32)] {
    scir_proto::ENUM_ALIASES
        .iter()
        .find(|(name, _)| *name == full_name)
        .map_or(&[], |(_, aliases)| aliases)
}

/// The leading comment of the element at `path` in `file`, as one paragraph.
pub fn comment(file: &FileDescriptor, path: &[i32]) -> String {
    file.file_descriptor_proto()
        .source_code_info
        .as_ref()
        .and_then(|info| info.location.iter().find(|l| l.path == path))
        .and_then(|l| l.leading_comments.as_deref())
        .map(|c| {
            c.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use scir_proto::Labelled;
    use scir_proto::insights::v1::Suppression;
    use scir_proto::intake::v1::{ContactKind, IncidentType};

    use std::collections::HashSet;

    use super::*;

    #[test]
    fn answers_name_each_value_once_and_inputs_keep_the_old_names() {
        let pool = pool();
        let mut aliased = 0;
        for e in pool.all_enums() {
            let mut numbers = HashSet::new();
            for v in e.values() {
                assert!(
                    numbers.insert(v.number()),
                    "{} repeats {}",
                    e.full_name(),
                    v.number()
                );
            }
            for (alias, number) in enum_aliases(e.full_name()) {
                aliased += 1;
                let current = e
                    .get_value(*number)
                    .expect("an alias names a current value");
                assert_ne!(current.name(), *alias);
                assert!(!current.name().is_empty());
            }
        }
        assert!(aliased > 150, "{aliased} aliases");
        let contact = pool
            .get_enum_by_name("scir.intake.v1.ContactKind")
            .expect("enum");
        assert_eq!(
            contact.get_value(1).expect("value").name(),
            "CONTACT_KIND_REPORT"
        );
        assert!(enum_aliases("scir.intake.v1.ContactKind").contains(&("CONTACT_REPORT", 1)));
        // The same aliases as the contract as written has.
        let written: usize = input_pool()
            .all_enums()
            .map(|e| {
                e.values().len()
                    - pool
                        .get_enum_by_name(e.full_name())
                        .expect("enum")
                        .values()
                        .len()
            })
            .sum();
        assert_eq!(written, aliased);
        // The routes are options' extensions: editing the set kept them.
        let method = pool
            .get_service_by_name("scir.intake.v1.IntakeService")
            .and_then(|s| s.methods().find(|m| m.name() == "GetIncident"))
            .expect("method");
        assert!(
            method
                .options()
                .extensions()
                .any(|(ext, _)| ext.full_name() == "google.api.http")
        );
    }

    #[test]
    fn labels_are_the_names_before_the_prefix_and_any_name_reads_back() {
        assert_eq!(ContactKind::Report.label(), "CONTACT_REPORT");
        assert_eq!(IncidentType::Other.label(), "OTHER_INCIDENT");
        assert_eq!(IncidentType::Death.label(), "DEATH");
        for name in ["INCIDENT_TYPE_DEATH", "DEATH"] {
            assert_eq!(IncidentType::from_label(name), Some(IncidentType::Death));
        }
        assert_eq!(
            ContactKind::from_label("CONTACT_KIND_REPORT"),
            Some(ContactKind::Report)
        );
        assert_eq!(
            ContactKind::from_label("REPORT"),
            None,
            "only names the contract has"
        );
        assert_eq!(IncidentType::from_label("death"), None, "names are exact");
        // Zero no longer means shown: an unset suppression fails closed.
        assert_eq!(Suppression::default(), Suppression::Unspecified);
        assert_eq!(
            Suppression::from_label("SHOWN"),
            Some(Suppression::Unspecified)
        );
        assert_eq!(Suppression::None.label(), "SUPPRESSION_NONE");
    }
}
