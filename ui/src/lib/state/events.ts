// Routes each engine event to the parts of the app that show what it changed.
import type { CorralEvent } from "../api/backend";
import type { AppController } from "./app.svelte";

export async function routeEvent(app: AppController, event: CorralEvent) {
  switch (event.type) {
    case "ProjectAdded":
    case "ProjectUpdated":
    case "ProjectRemoved":
      await app.loadProjects();
      if (event.type === "ProjectRemoved") app.forgetProject(event.id);
      break;
    case "TaskCreated":
    case "TaskUpdated":
      if (event.task.project_id === app.currentProjectId) await app.loadTasks();
      if (app.openTask?.id === event.task.id) app.openTask = event.task;
      // A task an agent proposed, or one approved or rejected.
      if (event.task.status === "proposed" || event.type === "TaskUpdated") await app.inbox.load();
      break;
    case "InboxChanged":
      await app.inbox.load();
      break;
    case "OpenInbox":
      app.go({ name: "inbox" });
      await app.inbox.load();
      break;
    case "OpenQuestion":
      app.inbox.focused = event.request_id;
      app.go({ name: "inbox" });
      await app.inbox.load();
      break;
    case "RunChanged":
      // The run itself comes with the event: its views update without a reload.
      app.runSession?.update(event.run);
      app.updateTaskRun(event.task_id, event.run);
      // The task's status follows its runs'.
      if (event.project_id === app.currentProjectId) await app.loadTasks();
      if (app.openTask?.id === event.task_id) await app.refreshOpenTask();
      // A run that waits for input, or stops waiting, moves in and out of the inbox.
      // So does a run whose checks failed, until it is merged, set aside or run again.
      if (
        event.run.state === "waiting_input" ||
        event.run.failure?.kind === "verify_failed" ||
        app.inbox.items.some(
          (i) =>
            (i.kind === "question" && i.request.run_id === event.run_id) ||
            (i.kind === "checks_failed" && i.run.task_id === event.task_id),
        )
      ) {
        await app.inbox.load();
      }
      break;
    case "TaskDeleted":
    case "DependenciesChanged":
      if (event.project_id === app.currentProjectId) await app.loadTasks();
      if (app.openTask) await app.refreshOpenTask();
      if (event.type === "TaskDeleted") await app.inbox.load();
      break;
    case "GraphRunChanged":
      app.graph.changed(event.project_id, event.running);
      if (event.project_id === app.currentProjectId) await app.graph.load(event.project_id);
      break;
    case "FilesChanged":
      app.changedCounts = { ...app.changedCounts, [event.task_id]: event.changed };
      break;
    case "OpenRun":
      await app.openRunView(event.run_id);
      break;
    case "Resync":
      await app.inbox.load();
      await app.runSession?.refresh();
      await app.loadProjects();
      await app.loadTasks();
      break;
  }
}
