//! The key server's seams implemented by this service: the COCOA-path processing-number
//! check and the publish observer (lifecycle written back to the case).

use async_trait::async_trait;
pub use mimamori_key_server::hooks::{
    KeyRevoker, ProcessingNumberError, ProcessingNumberVerifier, PublishObserver, VerifiedUpload,
};

use crate::model::VerifyError;
use crate::service::{ServiceError, Verification};

#[async_trait]
impl ProcessingNumberVerifier for Verification {
    async fn claim(
        &self,
        number: &str,
        idempotency_key: Option<&str>,
        client: Option<std::net::IpAddr>,
    ) -> Result<VerifiedUpload, ProcessingNumberError> {
        match self.claim_for_upload(client, number, idempotency_key).await {
            Ok(upload) => Ok(upload),
            Err(ServiceError::RateLimited {
                retry_after_seconds,
                ..
            }) => Err(ProcessingNumberError::RateLimited {
                retry_after_seconds,
            }),
            Err(ServiceError::Verify(VerifyError::CodeExpired)) => {
                Err(ProcessingNumberError::Expired)
            }
            Err(ServiceError::Verify(VerifyError::CodeAlreadyUsed)) => {
                Err(ProcessingNumberError::AlreadyUsed)
            }
            Err(ServiceError::Verify(_)) => Err(ProcessingNumberError::Unknown),
            Err(other) => {
                tracing::error!(error = %other, "processing-number check failed");
                Err(ProcessingNumberError::Unavailable(
                    "verification store unavailable".into(),
                ))
            }
        }
    }

    async fn release(&self, certificate_id: &str) -> Result<(), ProcessingNumberError> {
        self.release_upload_claim(certificate_id)
            .await
            .map_err(|error| ProcessingNumberError::Unavailable(error.to_string()))
    }
}

#[async_trait]
impl PublishObserver for Verification {
    async fn keys_published(&self, certificate_id: &str, keys: usize) {
        if let Err(error) = Verification::keys_published(self, certificate_id, keys).await {
            tracing::error!(error = %error, "could not record published keys on the case");
        }
    }
}
