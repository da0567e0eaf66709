//! Diagnosis-key server: publish, certificate checks, key storage, signed export batches and downloads.
