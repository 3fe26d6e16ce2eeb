//! Compiles `proto/` with protox (no system `protoc`) and writes the encoded
//! descriptor set next to the generated code for gRPC reflection.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "scir/common/v1/common.proto",
    "scir/intake/v1/intake.proto",
    "scir/review/v1/review.proto",
    "scir/scoring/v1/scoring.proto",
    "scir/insights/v1/insights.proto",
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
    std::fs::write(
        out.join("scir_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let fds = compiler.file_descriptor_set();
    std::fs::write(out.join("scir_labels.rs"), labels(&fds))?;

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
