//! SCIR web: the console for the people in the process. Server-rendered
//! pages over the services' public gRPC APIs, each call made with the
//! signed-in person's own token; its database holds sessions only.

pub mod config;
pub mod console;
pub mod culture;
pub mod forms;
pub mod insights;
pub mod mappings;
pub mod maps;
pub mod notices;
pub mod oidc;
pub mod parts;
pub mod peers;
pub mod session;
pub mod ssit;
pub mod startup;
pub mod views;

pub use config::WebConfig;
pub use startup::Application;
