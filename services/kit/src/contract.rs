//! The protobuf contract at run time: every SCIR descriptor (and the
//! `google.rpc` status types) in one pool, with the contract's own comments.
//!
//! Top-level enums carry deprecated aliases, the names their values had before
//! they took the enum's prefix. The pool here leaves the aliases out, so that
//! every JSON answer (HTTP, webhooks, the CLI) names a value by its one
//! current name; [`enum_aliases`] keeps them for reading input. gRPC
//! reflection serves the contract as written, aliases included.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, FileDescriptor, ReflectMessage as _, Value};

/// The descriptors of every SCIR service, message and enum, decoded once,
/// without enum aliases.
pub fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(without_aliases(scir_proto::FILE_DESCRIPTOR_SET).as_slice())
            .expect("the descriptor set compiled into scir-proto decodes")
    })
}

/// The contract as written, enum aliases included: for reading JSON input,
/// where the names from before the prefix are still accepted.
pub fn input_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(scir_proto::FILE_DESCRIPTOR_SET)
            .expect("the descriptor set compiled into scir-proto decodes")
    })
}

/// The deprecated aliases of the enum `full_name` (name, number), accepted on
/// input for the rest of v1 and never sent.
pub fn enum_aliases(full_name: &str) -> &'static [(String, i32)] {
    static ALIASES: OnceLock<HashMap<String, Vec<(String, i32)>>> = OnceLock::new();
    ALIASES
        .get_or_init(|| {
            input_pool()
                .all_enums()
                .map(|e| {
                    let mut first = HashSet::new();
                    let mut values: Vec<_> = e.values().collect();
                    values.sort_by_key(|v| v.path().last().copied());
                    let aliases = values
                        .into_iter()
                        .filter(|v| !first.insert(v.number()))
                        .map(|v| (v.name().to_owned(), v.number()))
                        .collect();
                    (e.full_name().to_owned(), aliases)
                })
                .collect()
        })
        .get(full_name)
        .map_or(&[], Vec::as_slice)
}

/// `set` (an encoded `FileDescriptorSet`) with every enum value after the
/// first of its number removed. Edited as a dynamic message, which keeps the
/// options' extensions (the `google.api.http` routes) that `prost_types` drops.
fn without_aliases(set: &[u8]) -> Vec<u8> {
    let descriptor = prost_types::FileDescriptorSet::default().descriptor();
    let mut set = DynamicMessage::decode(descriptor, set).expect("a FileDescriptorSet");
    for file in list_mut(&mut set, "file") {
        for e in list_mut(file, "enum_type") {
            let mut numbers = HashSet::new();
            list(e, "value").retain(|v| {
                let Value::Message(v) = v else { return true };
                let number = v.get_field_by_name("number").and_then(|n| n.as_i32());
                numbers.insert(number)
            });
            if let Some(Value::Message(options)) = e.get_field_by_name_mut("options") {
                options.clear_field_by_name("allow_alias");
            }
        }
    }
    prost::Message::encode_to_vec(&set)
}

fn list<'a>(message: &'a mut DynamicMessage, field: &str) -> &'a mut Vec<Value> {
    match message.get_field_by_name_mut(field) {
        Some(Value::List(items)) => items,
        _ => unreachable!("`{field}` is a repeated field of descriptor.proto"),
    }
}

fn list_mut<'a>(
    message: &'a mut DynamicMessage,
    field: &str,
) -> impl Iterator<Item = &'a mut DynamicMessage> {
    list(message, field).iter_mut().filter_map(|v| match v {
        Value::Message(m) => Some(m),
        _ => None,
    })
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
                assert_ne!(current.name(), alias);
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
        assert!(enum_aliases("scir.intake.v1.ContactKind").contains(&("CONTACT_REPORT".into(), 1)));
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
