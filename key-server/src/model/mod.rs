//! Pure rules of the key server: publish validation, revision tokens, export planning.

pub mod export_plan;
pub mod publish;
pub mod revision;
