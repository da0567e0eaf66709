//! BLE simulator: scenarios, radio model, advertising and scanning, the pipeline driver and evaluation.

pub mod calibrate;
pub mod dp3t;
pub mod engine;
pub mod eval;
pub mod mitll;
pub mod mobility;
pub mod pipeline;
pub mod plot;
pub mod protocol;
pub mod radio;
pub mod report;
pub mod scan;
pub mod scenario;
pub mod truth;
