//! Compiles `proto/` with protox (no system `protoc`) and writes the encoded
//! descriptor set next to the generated code for gRPC reflection.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "scir/common/v1/common.proto",
    "scir/intake/v1/intake.proto",
    "scir/review/v1/review.proto",
    "scir/scoring/v1/scoring.proto",
    "scir/insights/v1/insights.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    println!("cargo:rerun-if-changed={}", root.display());

    let fds = protox::compile(PROTOS, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // protox's `compile_fds` ignores `file_descriptor_set_path`, so write it here.
    std::fs::write(out.join("scir_descriptor.bin"), fds.encode_to_vec())?;

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
