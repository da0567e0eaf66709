//! Configuration of this service: the `[cases]` table of the server configuration
//! (`MIMAMORI_CASES__*` in the environment).

use serde::{Deserialize, Serialize};

/// Settings of this service. Unknown keys are rejected; secrets must be masked when serialized.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {}
