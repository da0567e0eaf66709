//! Typed errors of the crypto core.

/// General errors: encodings, lengths, randomness and key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A hexadecimal string had an odd length or a non-hex character.
    #[error("invalid hexadecimal string")]
    InvalidHex,
    /// A byte string had the wrong length.
    #[error("invalid length: expected {expected} bytes, got {actual}")]
    InvalidLength {
        /// The required length.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The system CSPRNG failed.
    #[error("the system random number generator failed")]
    Random,
    /// A public or private key could not be parsed.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A TEK's rolling period was outside 1..=144.
    #[error("invalid rolling period {0} (must be 1..=144)")]
    InvalidRollingPeriod(u32),
}

/// Why a BLE advertisement was rejected (gaen-spec.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Legacy advertising data holds at most 31 bytes.
    #[error("advertisement is {0} bytes, more than the legacy 31")]
    TooLong(usize),
    /// An AD structure's length byte runs past the end of the data.
    #[error("AD structure at offset {0} is truncated")]
    Truncated(usize),
    /// Bytes after a zero length byte (the padding) were not all zero.
    #[error("non-zero bytes after the terminating zero-length AD structure")]
    BadPadding,
    /// The Flags AD structure did not carry exactly one byte.
    #[error("flags AD structure must carry exactly one byte, has {0}")]
    BadFlags(usize),
    /// The same AD type appeared twice.
    #[error("AD type {0:#04x} appears more than once")]
    Duplicate(u8),
    /// No complete 16-bit service UUID list.
    #[error("no complete list of 16-bit service UUIDs")]
    MissingServiceUuidList,
    /// The UUID list was not exactly the one UUID 0xFD6F.
    #[error("the 16-bit service UUID list must be exactly [0xFD6F]")]
    WrongServiceUuidList,
    /// No service data for UUID 0xFD6F.
    #[error("no service data for UUID 0xFD6F")]
    MissingServiceData,
    /// Service data for another UUID (or an invalid structure).
    #[error("service data for UUID {0:#06x}, expected 0xFD6F")]
    WrongServiceDataUuid(u16),
    /// Service data came before the UUID list.
    #[error("service data appears before the service UUID list")]
    ServiceDataBeforeUuidList,
    /// The service data was not RPI (16) ‖ AEM (4).
    #[error("service data payload is {0} bytes, expected 20 (RPI ‖ AEM)")]
    WrongServiceDataLength(usize),
}

/// Why an export file was rejected (gaen-spec.md §5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// The archive is not a readable zip.
    #[error("not a valid zip archive: {0}")]
    Zip(String),
    /// `export.bin` or `export.sig` is missing from the archive.
    #[error("archive member {0} is missing")]
    MissingMember(&'static str),
    /// A member or the archive exceeds the size limit.
    #[error("{what} is larger than the {limit}-byte limit")]
    TooLarge {
        /// Which part was too large.
        what: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// `export.bin` is shorter than its 16-byte header.
    #[error("export.bin is truncated ({0} bytes, the header alone is 16)")]
    Truncated(usize),
    /// The first 16 bytes are not `"EK Export v1    "`.
    #[error("export.bin does not start with the header \"EK Export v1    \"")]
    WrongHeader,
    /// The protobuf content could not be decoded (truncated or malformed).
    #[error("malformed protobuf in {what}: {reason}")]
    Protobuf {
        /// `export.bin` or `export.sig`.
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// A required protobuf field is missing.
    #[error("required field {0} is missing")]
    MissingField(&'static str),
    /// A key in the export is invalid.
    #[error("key #{index} is invalid: {reason}")]
    InvalidKey {
        /// Position of the key in the file.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A signature did not verify.
    #[error("signature by {key_id}/{key_version} does not verify")]
    BadSignature {
        /// The signature's verification key id.
        key_id: String,
        /// The signature's verification key version.
        key_version: String,
    },
    /// No signature could be checked with the given keys.
    #[error("no signature in the archive matches a given verification key")]
    NoMatchingSignature,
    /// Signing failed or the signing key is unusable.
    #[error("signing failed: {0}")]
    Signing(String),
}
