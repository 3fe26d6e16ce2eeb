//! The protobuf contract at run time: every SCIR descriptor (and the
//! `google.rpc` status types) in one pool, with the contract's own comments.

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, FileDescriptor};

/// The descriptors of every SCIR service, message and enum, decoded once.
pub fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(scir_proto::FILE_DESCRIPTOR_SET)
            .expect("the descriptor set compiled into scir-proto decodes")
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
