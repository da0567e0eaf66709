//! Verification service: processing numbers tied to cases, device verification, certificates and JWKS.
