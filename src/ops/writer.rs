//! What a deploy writes before a stack changes, once the user confirmed: the stack's secrets
//! ([`Step::WriteSecret`], in Secrets Manager) and its artifacts ([`Step::Upload`], in S3).
//! Each is read first (what would change), shown with the change set, and written only after
//! the confirmation.

use crate::aws::s3::S3;
use crate::aws::secretsmanager::SecretsManager;
use crate::error::{Error, Result};
use crate::observer::Observer;
use crate::plan::{Artifact, StackSpec, Step};
use crate::secrets::{self, NodeSecret, Pending, Stored};
use crate::stack::Engine;

use super::lookup;

/// The clients a stack's [`Step::WriteSecret`] and [`Step::Upload`] steps write with.
pub struct SecretWriter {
    /// The Secrets Manager client.
    pub client: SecretsManager,
    /// The S3 client for a stack's artifacts ([`Step::Upload`]); `None`: a stack with
    /// artifacts cannot be deployed.
    pub s3: Option<S3>,
    /// The region (for messages).
    pub region: String,
}

/// An artifact to upload, with its bucket.
pub(crate) type Upload<'s> = (&'s Artifact, String);

impl SecretWriter {
    /// The artifacts of `stack` not yet in their buckets (read-only: the bucket from its
    /// stack's output, then HeadObject).
    pub(crate) async fn missing_uploads<'s>(
        &self,
        engine: &Engine<'_>,
        stack: &'s StackSpec,
    ) -> Result<Vec<Upload<'s>>> {
        let mut missing = Vec::new();
        for step in &stack.before_deploy {
            let Step::Upload(artifact) = step else {
                continue;
            };
            let (source, output) = &artifact.bucket;
            let bucket = lookup::stack_output(engine, source, output, &stack.name).await?;
            let s3 = self
                .s3
                .as_ref()
                .expect("a client for stacks with artifacts");
            let there = s3.exists(&bucket, &artifact.key).await.map_err(|err| {
                let hint = err.generic_hint();
                Error::aws(
                    format!(
                        "cannot check for {} (s3://{bucket}/{}) in `{}`",
                        artifact.what, artifact.key, self.region
                    ),
                    err,
                    hint,
                )
            })?;
            if !there {
                missing.push((artifact, bucket));
            }
        }
        Ok(missing)
    }

    /// Uploads `uploads`, and says so.
    pub(crate) async fn upload(
        &self,
        uploads: &[Upload<'_>],
        observer: &dyn Observer,
    ) -> Result<()> {
        for (artifact, bucket) in uploads {
            let s3 = self
                .s3
                .as_ref()
                .expect("a client for stacks with artifacts");
            s3.put(bucket, &artifact.key, artifact.bytes.to_vec())
                .await
                .map_err(|err| {
                    let hint = err.generic_hint();
                    Error::aws(
                        format!(
                            "cannot upload {} to s3://{bucket}/{} in `{}`",
                            artifact.what, artifact.key, self.region
                        ),
                        err,
                        hint,
                    )
                })?;
            observer.note(&format!(
                "uploaded {} to s3://{bucket}/{} ({} KiB)",
                artifact.what,
                artifact.key,
                artifact.bytes.len().div_ceil(1024)
            ));
        }
        Ok(())
    }

    /// What writing each of `stack`'s secrets would do (read-only).
    pub(crate) async fn pending<'s>(
        &self,
        stack: &'s StackSpec,
    ) -> Result<Vec<(&'s NodeSecret, Pending)>> {
        let mut found = Vec::new();
        for step in &stack.before_deploy {
            if let Step::WriteSecret(secret) = step {
                found.push((
                    secret,
                    secrets::pending(&self.client, &self.region, secret).await?,
                ));
            }
        }
        Ok(found)
    }

    /// Writes the secrets that `pending` says change, and says what it did.
    pub(crate) async fn write(
        &self,
        pending: &[(&NodeSecret, Pending)],
        observer: &dyn Observer,
    ) -> Result<()> {
        for (secret, _) in pending.iter().filter(|(_, what)| what.writes()) {
            let (stored, restored, public) =
                secrets::write(&self.client, &self.region, secret, observer).await?;
            if restored {
                observer.note(&format!(
                    "restored the secret `{}`, which was scheduled for deletion, and reused it",
                    secret.secret_id
                ));
            }
            let line = secret.describe(&stored);
            if stored == Stored::Replaced {
                observer.warn(&line);
            } else {
                observer.note(&line);
            }
            for line in public {
                observer.note(&line);
            }
        }
        Ok(())
    }
}

/// A line for each secret `pending` will write, shown with the changes before confirmation.
pub(crate) fn pending_lines(pending: &[(&NodeSecret, Pending)]) -> Vec<String> {
    pending
        .iter()
        .filter_map(|(secret, what)| {
            let id = &secret.secret_id;
            Some(match what {
                Pending::Unchanged => return None,
                Pending::Create => format!("and create the secret `{id}` (values not shown)"),
                Pending::Update => format!("and update the secret `{id}` (values not shown)"),
                Pending::Restore(date) => format!(
                    "and restore the secret `{id}`, scheduled for deletion since {date}, and \
                     reuse it"
                ),
            })
        })
        .collect()
}
