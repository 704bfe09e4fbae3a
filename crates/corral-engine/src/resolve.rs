//! Finding a project or task from what a person typed: an id, a project name, or a task title
//! (within a project, or across projects when unique).

use corral_core::{Project, ProjectId, Task, TaskId};
use corral_store::{ProjectQuery, TaskQuery};

use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};

impl Engine {
    /// A project by id or exact name.
    pub async fn find_project(&self, reference: &str) -> EngineResult<Project> {
        let db = self.store.db();
        let reference = reference.trim();
        let found = match reference.parse::<ProjectId>() {
            Ok(id) => ProjectQuery::by_id(db, id).await?,
            Err(_) => ProjectQuery::by_name(db, reference).await?,
        };
        match found {
            Some(project) => Ok(project),
            None => Err(EngineError::ProjectNotFound {
                reference: reference.to_string(),
                known: ProjectQuery::all(db)
                    .await?
                    .into_iter()
                    .map(|p| p.name)
                    .take(10)
                    .collect(),
            }),
        }
    }

    /// A task by id, or by exact title within `project` (or across all projects when no project
    /// is given). A title that matches several tasks is an error listing them.
    pub async fn find_task(
        &self,
        reference: &str,
        project: Option<&Project>,
    ) -> EngineResult<Task> {
        let db = self.store.db();
        let reference = reference.trim();
        let scope = project.map(|p| p.name.clone());
        let not_found = || EngineError::TaskNotFound {
            reference: reference.to_string(),
            scope: scope.clone(),
        };
        if let Ok(id) = reference.parse::<TaskId>() {
            return match TaskQuery::by_id(db, id).await? {
                Some(task) if project.is_none_or(|p| p.id == task.project_id) => Ok(task),
                _ => Err(not_found()),
            };
        }
        let mut matches = TaskQuery::by_title(db, reference, project.map(|p| p.id)).await?;
        match matches.len() {
            0 => Err(not_found()),
            1 => Ok(matches.remove(0)),
            _ => {
                let mut candidates = Vec::with_capacity(matches.len());
                for task in matches.iter().take(10) {
                    let project = self.project(task.project_id).await?;
                    candidates.push(format!(
                        "{} ({} in project `{}`)",
                        task.id, task.title, project.name
                    ));
                }
                Err(EngineError::AmbiguousTask {
                    reference: reference.to_string(),
                    candidates,
                })
            }
        }
    }
}
