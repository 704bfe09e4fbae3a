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

/// Where a run's image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSpec {
    /// An image by name: used when present, pulled when not.
    Named(String),
    /// Built from `dockerfile` (relative to `context`) and tagged `tag`; its RUN steps get
    /// `network`.
    Build {
        context: std::path::PathBuf,
        dockerfile: String,
        tag: String,
        network: crate::NetworkMode,
        /// The data dir building it (an image label, so its `gc` can tell its own images).
        instance: String,
    },
    /// Built once from a generated Dockerfile (the agent image) and reused while `tag`
    /// exists; the tag is a hash of the text.
    Generated {
        dockerfile: String,
        tag: String,
        network: crate::NetworkMode,
        instance: String,
    },
}

impl ImageSpec {
    /// The name containers are created from.
    pub fn tag(&self) -> &str {
        match self {
            ImageSpec::Named(name) => name,
            ImageSpec::Build { tag, .. } | ImageSpec::Generated { tag, .. } => tag,
        }
    }
}

/// The most a build context may hold: it is archived in memory, and a follow-up builds from a
/// checkout the sandbox wrote (a sparse 4 GiB file must not cost 4 GiB here).
const MAX_CONTEXT_BYTES: u64 = 1 << 30;

/// The build context as a tar archive: every file under `dir` except `.git`. Symlinks are
/// archived as links, never followed out of the folder. Refused past `MAX_CONTEXT_BYTES`.
fn context_tar(dir: &std::path::Path) -> std::io::Result<Vec<u8>> {
    context_tar_capped(dir, MAX_CONTEXT_BYTES)
}

fn context_tar_capped(dir: &std::path::Path, cap: u64) -> std::io::Result<Vec<u8>> {
    fn add(
        builder: &mut tar::Builder<Vec<u8>>,
        root: &std::path::Path,
        dir: &std::path::Path,
        left: &mut u64,
    ) -> std::io::Result<()> {
        let mut entries = std::fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = path.strip_prefix(root).unwrap_or(&path);
            if name == std::path::Path::new(".git") {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                builder.append_dir(name, &path)?;
                add(builder, root, &path, left)?;
            } else {
                let size = if kind.is_file() {
                    entry.metadata()?.len()
                } else {
                    0
                };
                *left = left.checked_sub(size).ok_or_else(|| {
                    std::io::Error::other(format!(
                        "the build context {} holds more than {} MiB (at {}); leave big files \
                         out of the Dockerfile's folder",
                        root.display(),
                        MAX_CONTEXT_BYTES >> 20,
                        name.display()
                    ))
                })?;
                builder.append_path_with_name(&path, name)?;
            }
        }
        Ok(())
    }
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut left = cap;
    add(&mut builder, dir, dir, &mut left)?;
    builder.into_inner()
}

/// The error of a failed build of `tag`, given why.
fn build_failed(tag: &str) -> impl Fn(String) -> SandboxError + '_ {
    move |reason| SandboxError::ImageBuild {
        tag: tag.to_string(),
        reason,
    }
}

impl DockerSandbox {
    /// Builds an image from a Dockerfile, reporting each line of the build as progress.
    /// Docker's layer cache makes an unchanged rebuild quick.
    pub async fn build_image(
        &self,
        context: &std::path::Path,
        dockerfile: &str,
        tag: &str,
        network: crate::NetworkMode,
        instance: &str,
        mut progress: impl FnMut(String),
    ) -> Result<(), SandboxError> {
        let failed = build_failed(tag);
        if !context.join(dockerfile).is_file() {
            return Err(failed(format!(
                "there is no Dockerfile at {}",
                context.join(dockerfile).display()
            )));
        }
        let dir = context.to_path_buf();
        let archive = tokio::task::spawn_blocking(move || context_tar(&dir))
            .await
            .map_err(|e| failed(e.to_string()))?
            .map_err(|e| failed(format!("reading the build context: {e}")))?;
        progress(format!(
            "building {tag} from {dockerfile} ({} KiB of context)",
            archive.len() / 1024
        ));
        self.build_archive(archive, dockerfile, tag, network, instance, progress)
            .await
    }

    /// Builds `tag` from a tar archive holding the context and the Dockerfile.
    async fn build_archive(
        &self,
        archive: Vec<u8>,
        dockerfile: &str,
        tag: &str,
        network: crate::NetworkMode,
        instance: &str,
        mut progress: impl FnMut(String),
    ) -> Result<(), SandboxError> {
        let failed = build_failed(tag);
        let labels = std::collections::HashMap::from([(crate::labels::INSTANCE, instance)]);
        let options = bollard::query_parameters::BuildImageOptionsBuilder::new()
            .labels(&labels)
            .dockerfile(dockerfile)
            .t(tag)
            .networkmode(network.as_docker())
            .rm(true)
            .forcerm(true)
            .build();
        let mut build = self.docker.build_image(
            options,
            None,
            Some(bollard::body_full(bytes::Bytes::from(archive))),
        );
        while let Some(info) = build.next().await {
            let info = info.map_err(|e| failed(e.to_string()))?;
            if let Some(detail) = info.error_detail {
                return Err(failed(
                    detail.message.unwrap_or_else(|| "the build failed".into()),
                ));
            }
            for line in info.stream.iter().chain(info.status.iter()) {
                for part in line.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    progress(part.to_string());
                }
            }
        }
        if self.has_image(tag).await? {
            Ok(())
        } else {
            Err(failed("the build finished without the image".into()))
        }
    }

    /// Builds `tag` from a Dockerfile given as text (nothing else in the context), unless an
    /// image with that tag exists already.
    pub async fn build_generated(
        &self,
        dockerfile: &str,
        tag: &str,
        network: crate::NetworkMode,
        instance: &str,
        mut progress: impl FnMut(String),
    ) -> Result<(), SandboxError> {
        if self.has_image(tag).await? {
            progress(format!("agent image {tag} (built before)"));
            return Ok(());
        }
        let failed = build_failed(tag);
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(dockerfile.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
            .map_err(|e| failed(e.to_string()))?;
        let archive = builder.into_inner().map_err(|e| failed(e.to_string()))?;
        progress(format!(
            "building agent image {tag} (once; later runs reuse it)"
        ));
        let started = std::time::Instant::now();
        self.build_archive(archive, "Dockerfile", tag, network, instance, &mut progress)
            .await?;
        progress(format!(
            "built {tag} in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        Ok(())
    }

    /// Makes sure the image of `spec` exists: pulled or built as it says.
    pub async fn ensure_spec(
        &self,
        spec: &ImageSpec,
        progress: impl FnMut(String),
    ) -> Result<(), SandboxError> {
        match spec {
            ImageSpec::Named(name) => self.ensure_image(name, progress).await,
            ImageSpec::Build {
                context,
                dockerfile,
                tag,
                network,
                instance,
            } => {
                self.build_image(context, dockerfile, tag, *network, instance, progress)
                    .await
            }
            ImageSpec::Generated {
                dockerfile,
                tag,
                network,
                instance,
            } => {
                self.build_generated(dockerfile, tag, *network, instance, progress)
                    .await
            }
        }
    }
}

/// An image Corral built: an agent image or a Dockerfile build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorralImage {
    pub tag: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// The data dir that built it (its label), when it has one.
    pub instance: Option<String>,
}

/// The tag prefixes of the images Corral builds.
pub const AGENT_IMAGE_PREFIX: &str = "corral-agent/";
pub const BUILD_IMAGE_PREFIX: &str = "corral-build/";

impl DockerSandbox {
    /// Every tag of an image Corral built.
    pub async fn corral_images(&self) -> Result<Vec<CorralImage>, SandboxError> {
        let images = self
            .docker
            .list_images(None::<bollard::query_parameters::ListImagesOptions>)
            .await?;
        Ok(images
            .into_iter()
            .flat_map(|image| {
                let instance = image.labels.get(crate::labels::INSTANCE).cloned();
                let created = image.created;
                image
                    .repo_tags
                    .into_iter()
                    .filter(|t| {
                        t.starts_with(AGENT_IMAGE_PREFIX) || t.starts_with(BUILD_IMAGE_PREFIX)
                    })
                    .map(move |tag| CorralImage {
                        tag,
                        created,
                        instance: instance.clone(),
                    })
            })
            .collect())
    }

    /// Removes one tag. `Ok(false)` when a container still uses it or it is already gone.
    pub async fn remove_image_tag(&self, tag: &str) -> Result<bool, SandboxError> {
        match self
            .docker
            .remove_image(
                tag,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404 | 409,
                ..
            }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_context_over_the_cap_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().expect("temp");
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").expect("write");
        let archive = context_tar_capped(dir.path(), 1024).expect("small context");
        assert!(!archive.is_empty());
        // A sparse 4 GiB file: refused by its size, never read into memory.
        let big = std::fs::File::create(dir.path().join("big.bin")).expect("create");
        big.set_len(4 << 30).expect("truncate");
        let err = context_tar(dir.path()).expect_err("refused");
        assert!(err.to_string().contains("big.bin"), "{err}");
    }
}
