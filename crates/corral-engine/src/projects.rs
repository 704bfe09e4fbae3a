//! Project operations: add (a local repository or a git URL), list, show, update, remove.

use std::path::{Path, PathBuf};

use corral_core::project::looks_like_git_url;
use corral_core::{Project, ProjectId, RepoSource, Workflow, validate};
use corral_store::{ProjectMutation, ProjectQuery, RunQuery, StoreError};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::events::EngineEvent;

/// A change to a project. Fields left `None` stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ProjectUpdate {
    pub name: Option<String>,
    pub workflow: Option<Workflow>,
    /// A new folder for a project added by path (its repository moved).
    pub path: Option<std::path::PathBuf>,
}

/// A unique-constraint failure on write means another project took the name meanwhile.
fn name_taken(err: StoreError, name: &str) -> EngineError {
    if err.is_unique_violation() {
        EngineError::DuplicateProjectName {
            name: name.to_string(),
        }
    } else {
        err.into()
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

impl Engine {
    /// Adds a project from a local repository path (which must exist, be a git repository and
    /// have a commit) or a git URL (stored now, cloned before its first run).
    #[tracing::instrument(skip(self))]
    pub async fn add_project(&self, source: &str, name: Option<&str>) -> EngineResult<Project> {
        let source = source.trim();
        let (source, default_branch) = if looks_like_git_url(source) {
            (
                RepoSource::Remote {
                    url: source.to_string(),
                },
                None,
            )
        } else {
            let path = absolute(Path::new(source));
            let info = tokio::task::spawn_blocking(move || corral_git::inspect(&path))
                .await
                .map_err(EngineError::from)??;
            (RepoSource::Local { path: info.root }, info.head_branch)
        };
        let name = validate::name("project name", name.unwrap_or(&source.default_name()))?;

        let db = self.store.db();
        if let Some(existing) = ProjectQuery::all(db)
            .await?
            .into_iter()
            .find(|p| p.source == source)
        {
            return Err(EngineError::DuplicateProjectSource {
                source_desc: source.describe(),
                name: existing.name,
            });
        }
        if ProjectQuery::by_name(db, &name).await?.is_some() {
            return Err(EngineError::DuplicateProjectName { name });
        }
        let now = Engine::now();
        let project = Project {
            id: ProjectId::new(),
            name,
            source,
            default_branch,
            workflow: Workflow::default(),
            created_at: now,
            updated_at: now,
        };
        ProjectMutation::insert(db, &project)
            .await
            .map_err(|e| name_taken(e, &project.name))?;
        tracing::info!(project = %project.id, name = %project.name, "project added");
        self.publish(EngineEvent::ProjectAdded {
            project: project.clone(),
        });
        Ok(project)
    }

    pub async fn list_projects(&self) -> EngineResult<Vec<Project>> {
        Ok(ProjectQuery::all(self.store.db()).await?)
    }

    pub async fn project(&self, id: ProjectId) -> EngineResult<Project> {
        ProjectQuery::by_id(self.store.db(), id)
            .await?
            .ok_or_else(|| EngineError::ProjectNotFound {
                reference: id.to_string(),
                known: Vec::new(),
            })
    }

    #[tracing::instrument(skip(self, update), fields(project = %id))]
    pub async fn update_project(
        &self,
        id: ProjectId,
        update: ProjectUpdate,
    ) -> EngineResult<Project> {
        let mut project = self.project(id).await?;
        if let Some(name) = update.name {
            let name = validate::name("project name", &name)?;
            if name != project.name {
                if ProjectQuery::by_name(self.store.db(), &name)
                    .await?
                    .is_some()
                {
                    return Err(EngineError::DuplicateProjectName { name });
                }
                project.name = name;
            }
        }
        if let Some(workflow) = update.workflow {
            workflow.validate()?;
            project.workflow = workflow;
        }
        if let Some(path) = update.path {
            project.source = self.moved_source(&project, path).await?;
        }
        project.updated_at = Engine::now();
        ProjectMutation::update(self.store.db(), &project)
            .await
            .map_err(|e| name_taken(e, &project.name))?;
        self.publish(EngineEvent::ProjectUpdated {
            project: project.clone(),
        });
        Ok(project)
    }

    /// Applies `key=value` workflow settings all at once: one bad pair changes nothing.
    pub async fn set_project_settings(
        &self,
        id: ProjectId,
        settings: &[(String, String)],
    ) -> EngineResult<Project> {
        let project = self.project(id).await?;
        let mut workflow = project.workflow.clone();
        let mut path = None;
        for (key, value) in settings {
            // The repository's place is the project's, not a workflow setting.
            if key == "path" {
                path = Some(std::path::PathBuf::from(value));
                continue;
            }
            workflow.set(key, value)?;
        }
        self.update_project(
            id,
            ProjectUpdate {
                name: None,
                workflow: Some(workflow),
                path,
            },
        )
        .await
    }

    /// The source of a project whose repository moved to `path`: it must be a git repository
    /// with commits, and the project one added by path (a URL project's folder is Corral's).
    async fn moved_source(
        &self,
        project: &Project,
        path: std::path::PathBuf,
    ) -> EngineResult<RepoSource> {
        if let RepoSource::Remote { url } = &project.source {
            return Err(validate::ValidationError::BadValue {
                field: "path",
                given: url.clone(),
                expected: "a project added by path; one added by URL has its repository in \
                           Corral's data dir",
            }
            .into());
        }
        let info = tokio::task::spawn_blocking(move || corral_git::inspect(&path))
            .await
            .map_err(EngineError::from)??;
        Ok(RepoSource::Local { path: info.root })
    }

    /// Removes a project from Corral with its tasks and run records. The repository itself is
    /// not touched. Refused while any of its runs is live.
    #[tracing::instrument(skip(self), fields(project = %id))]
    pub async fn remove_project(&self, id: ProjectId) -> EngineResult<Project> {
        let project = self.project(id).await?;
        let live = RunQuery::count_live(self.store.db(), Some(id), None).await?;
        if live > 0 {
            return Err(EngineError::ProjectBusy {
                name: project.name,
                live,
            });
        }
        ProjectMutation::delete(self.store.db(), id).await?;
        if let RepoSource::Remote { .. } = project.source {
            // The mirror is Corral's own cache; the remote itself is never touched.
            let mirror = self.mirror_dir(id);
            if let Err(e) = crate::fs_work::remove_tree(mirror.clone()).await {
                tracing::warn!(error = %e, mirror = %mirror.display(), "could not remove the mirror");
            }
        }
        tracing::info!(name = %project.name, "project removed");
        self.publish(EngineEvent::ProjectRemoved { id });
        Ok(project)
    }
}
