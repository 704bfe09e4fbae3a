//! Making sure a run's image is present: inspect it, or pull it with progress.

use bollard::query_parameters::CreateImageOptionsBuilder;
use futures::StreamExt;

use crate::{DockerSandbox, SandboxError};

impl DockerSandbox {
    /// Whether the image exists locally.
    pub async fn has_image(&self, image: &str) -> Result<bool, SandboxError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Ensures `image` is present, pulling it when missing. `progress` gets one line per
    /// status update of the pull ("Downloading 12 MB/40 MB").
    pub async fn ensure_image(
        &self,
        image: &str,
        mut progress: impl FnMut(String),
    ) -> Result<(), SandboxError> {
        if self.has_image(image).await? {
            return Ok(());
        }
        progress(format!("pulling {image}"));
        let options = CreateImageOptionsBuilder::new().from_image(image).build();
        let mut pull = self.docker.create_image(Some(options), None, None);
        while let Some(update) = pull.next().await {
            let update = update.map_err(|e| SandboxError::ImageUnavailable {
                image: image.to_string(),
                reason: e.to_string(),
            })?;
            let detail = update
                .progress_detail
                .and_then(|d| match (d.current, d.total) {
                    (Some(current), Some(total)) if total > 0 => Some(format!(
                        "{} MB/{} MB",
                        current / 1_000_000,
                        total / 1_000_000
                    )),
                    _ => None,
                });
            let line = [update.id, update.status, detail]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            if !line.is_empty() {
                progress(line);
            }
        }
        if self.has_image(image).await? {
            Ok(())
        } else {
            Err(SandboxError::ImageUnavailable {
                image: image.to_string(),
                reason: "the pull finished without the image".into(),
            })
        }
    }
}
