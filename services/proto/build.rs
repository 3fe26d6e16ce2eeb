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
