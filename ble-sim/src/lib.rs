//! BLE simulator: scenarios, radio model, advertising and scanning, the pipeline driver and evaluation.

pub mod calibrate;
pub mod dp3t;
pub mod eval;
pub mod mitll;
pub mod plot;
pub mod radio;
pub mod scan;
