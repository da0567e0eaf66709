//! BLE simulator: scenarios, radio model, advertising and scanning, the pipeline driver and evaluation.
