//! SCIR's protobuf contracts (`proto/`) compiled for tonic and prost.
//!
//! Re-exports the versions of `tonic`, `prost` and `prost-types` the generated
//! code was built with, so every crate of the workspace uses the same ones.

pub use prost;
pub use prost_types;
pub use tonic;

/// Encoded `FileDescriptorSet` of every SCIR proto as written (comments and
/// deprecated enum aliases included), for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/scir_descriptor.bin"));

/// [`FILE_DESCRIPTOR_SET`] without enum aliases, so that each enum number has
/// one name: what answers in JSON are printed with. Aliases are in
/// [`ENUM_ALIASES`].
pub const ANSWER_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/scir_descriptor_answers.bin"));

/// A contract enum's label: the short name that answers' keys, CSV columns,
/// rule-set files, summaries and audit records use (`NEGLECT`,
/// `CASE_RECORD_REVIEW`). Labels are the names the values had before the
/// contract gave them their enum's prefix (`CAUSE_CATEGORY_NEGLECT`), so what
/// has been written and published keeps its meaning; the wire and JSON use the
/// prefixed names.
pub trait Labelled: Sized + Copy {
    /// The value's label.
    fn label(self) -> &'static str;
    /// The value a label, a prefixed name or a deprecated alias names.
    fn from_label(name: &str) -> Option<Self>;
}

include!(concat!(env!("OUT_DIR"), "/scir_labels.rs"));

/// `scir.common.v1`: types shared by every service.
pub mod common {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("scir.common.v1");
    }
}

/// `scir.intake.v1`: the intake and eligibility service.
pub mod intake {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("scir.intake.v1");
    }
}

/// `scir.review.v1`: the review workflow service.
pub mod review {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("scir.review.v1");
    }
}

/// `scir.scoring.v1`: the SSIT scoring service.
pub mod scoring {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("scir.scoring.v1");
    }
}

/// `scir.culture.v1`: safety culture surveys and their anonymous responses.
pub mod culture {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("scir.culture.v1");
    }
}

/// `scir.learning.v1`: aggregate mappings across reviews and their considerations.
pub mod learning {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("scir.learning.v1");
    }
}

/// `scir.insights.v1`: the aggregate insights service.
pub mod insights {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("scir.insights.v1");
    }
}

/// `scir.webhooks.v1`: event deliveries to agencies' endpoints.
pub mod webhooks {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("scir.webhooks.v1");
    }
}
