//! Compiles `proto/` with protox (no system `protoc`) and writes the encoded
//! descriptor set next to the generated code for gRPC reflection.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "scir/common/v1/common.proto",
    "scir/intake/v1/intake.proto",
    "scir/review/v1/review.proto",
    "scir/scoring/v1/scoring.proto",
    "scir/insights/v1/insights.proto",
    "scir/learning/v1/learning.proto",
    "scir/culture/v1/culture.proto",
    "scir/webhooks/v1/webhooks.proto",
    // Not imported by the contracts, but in the descriptor set so that HTTP/JSON
    // errors can print `google.rpc.Status` and its details.
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    println!("cargo:rerun-if-changed={}", root.display());

    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(PROTOS)?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // Encoded by protox itself: `prost_types` would drop the options'
    // extensions (the `google.api.http` routes).
    let encoded = compiler.encode_file_descriptor_set();
    std::fs::write(out.join("scir_descriptor.bin"), &encoded)?;
    // The same set without enum aliases, for the services' run-time pool: made
    // here, once, rather than decoded and edited by every process at start.
    std::fs::write(
        out.join("scir_descriptor_answers.bin"),
        without_aliases(&encoded),
    )?;
    let fds = compiler.file_descriptor_set();
    std::fs::write(out.join("scir_labels.rs"), labels(&fds) + &aliases(&fds))?;

    // Messages know their own full names (`prost::Name`), so an event's type
    // is always its payload's type.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        .compile_fds_with_config(fds, config)?;
    Ok(())
}

/// `Labelled` for every top-level enum of the `scir.*` packages, read off the
/// descriptors so that the names, their aliases and the labels cannot drift
/// from the contract. Matches on numbers, not on prost's variant names, which
/// prost derives by rules of its own.
fn labels(fds: &prost_types::FileDescriptorSet) -> String {
    use std::fmt::Write as _;
    let mut code = String::new();
    for file in &fds.file {
        let package = file.package();
        let Some(module) = package.strip_prefix("scir.") else {
            continue;
        };
        let module = module.replace('.', "::");
        for e in &file.enum_type {
            let mut names = Vec::new();
            let mut labels = std::collections::BTreeMap::new();
            for v in &e.value {
                names.push(format!("{:?} => {},", v.name(), v.number()));
                let deprecated = v.options.as_ref().is_some_and(|o| o.deprecated());
                let entry = labels.entry(v.number()).or_insert(v.name());
                // The deprecated alias is the name from before the prefix: the
                // label. Zero keeps its `_UNSPECIFIED` name whatever its aliases.
                if deprecated && v.number() != 0 {
                    *entry = v.name();
                }
            }
            let arms: String = labels
                .iter()
                .map(|(n, l)| format!("{n} => {l:?},"))
                .collect();
            writeln!(
                code,
                "impl crate::Labelled for crate::{module}::{name} {{
    fn label(self) -> &'static str {{
        match self as i32 {{ {arms} _ => \"UNSPECIFIED\" }}
    }}
    fn from_label(name: &str) -> Option<Self> {{
        let number = match name {{ {names} _ => return None }};
        Self::try_from(number).ok()
    }}
}}",
                name = e.name(),
                names = names.concat(),
            )
            .expect("writing to a String");
        }
    }
    code
}

/// `ENUM_ALIASES`: every enum's values after the first of their number (the
/// deprecated names from before the prefix), by the enum's full name.
fn aliases(fds: &prost_types::FileDescriptorSet) -> String {
    use std::fmt::Write as _;
    fn visit(
        prefix: &str,
        enums: &[prost_types::EnumDescriptorProto],
        messages: &[prost_types::DescriptorProto],
        code: &mut String,
    ) {
        for e in enums {
            let mut first = std::collections::HashSet::new();
            let aliases: String = e
                .value
                .iter()
                .filter(|v| !first.insert(v.number()))
                .map(|v| format!("({:?}, {}),", v.name(), v.number()))
                .collect();
            if !aliases.is_empty() {
                writeln!(
                    code,
                    "({:?}, &[{aliases}]),",
                    format!("{prefix}{}", e.name())
                )
                .expect("writing to a String");
            }
        }
        for m in messages {
            let prefix = format!("{prefix}{}.", m.name());
            visit(&prefix, &m.enum_type, &m.nested_type, code);
        }
    }
    let mut entries = String::new();
    for file in &fds.file {
        let prefix = format!("{}.", file.package());
        visit(&prefix, &file.enum_type, &file.message_type, &mut entries);
    }
    format!(
        "/// Each enum's deprecated value names (name, number) by the enum's full
/// name: accepted on input for the rest of v1, never sent.
pub const ENUM_ALIASES: &[(&str, &[(&str, i32)])] = &[{entries}];
"
    )
}

/// `set` (an encoded `FileDescriptorSet`) with every enum value after the
/// first of its number removed. Edited as a dynamic message, which keeps the
/// options' extensions (the `google.api.http` routes) that `prost_types` drops.
fn without_aliases(set: &[u8]) -> Vec<u8> {
    use prost_reflect::{DynamicMessage, ReflectMessage as _, Value};
    fn list<'a>(message: &'a mut DynamicMessage, field: &str) -> &'a mut Vec<Value> {
        match message.get_field_by_name_mut(field) {
            Some(Value::List(items)) => items,
            _ => unreachable!("`{field}` is a repeated field of descriptor.proto"),
        }
    }
    fn messages<'a>(
        message: &'a mut DynamicMessage,
        field: &str,
    ) -> impl Iterator<Item = &'a mut DynamicMessage> {
        list(message, field).iter_mut().filter_map(|v| match v {
            Value::Message(m) => Some(m),
            _ => None,
        })
    }
    fn strip(enums: &mut DynamicMessage) {
        let mut numbers = std::collections::HashSet::new();
        list(enums, "value").retain(|v| {
            let Value::Message(v) = v else { return true };
            numbers.insert(v.get_field_by_name("number").and_then(|n| n.as_i32()))
        });
        if let Some(Value::Message(options)) = enums.get_field_by_name_mut("options") {
            options.clear_field_by_name("allow_alias");
        }
    }
    fn visit(message: &mut DynamicMessage) {
        messages(message, "enum_type").for_each(strip);
        messages(message, "nested_type").for_each(visit);
    }
    let descriptor = prost_types::FileDescriptorSet::default().descriptor();
    let mut set = DynamicMessage::decode(descriptor, set).expect("a FileDescriptorSet");
    for file in messages(&mut set, "file") {
        messages(file, "enum_type").for_each(strip);
        messages(file, "message_type").for_each(visit);
    }
    prost::Message::encode_to_vec(&set)
}
