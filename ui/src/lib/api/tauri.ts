// The only module that talks to the Tauri host: generated bindings, events and the dialog
// plugin. Every failure becomes an `ApiFailure` carrying the engine's typed error.
import { Channel } from "@tauri-apps/api/core";
import { open } from "@tauri-apps/plugin-dialog";
import { commands, events } from "../bindings";
import type { ApiError, RunStreamDto } from "../bindings";
import { ApiFailure, type Backend } from "./backend";

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: ApiError };

async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch (e) {
    // Framework-level failures (unknown command, bad argument) reject with a string.
    throw new ApiFailure({ kind: "internal", message: String(e), fix: null });
  }
  if (result.status === "error") throw new ApiFailure(result.error);
  return result.data;
}

export const tauriBackend: Backend = {
  doctor: () => unwrap(commands.doctor()),
  listProjects: () => unwrap(commands.listProjects()),
  addProject: (source, name) => unwrap(commands.addProject(source, name)),
  updateProject: (id, name, workflow) => unwrap(commands.updateProject(id, name, workflow)),
  removeProject: async (id) => {
    await unwrap(commands.removeProject(id));
  },
  listTasks: (projectId) => unwrap(commands.listTasks(projectId)),
  getTask: (id) => unwrap(commands.getTask(id)),
  getOrchestration: (id) => unwrap(commands.getOrchestration(id)),
  createTask: (task) => unwrap(commands.createTask(task)),
  updateTask: (id, edit) => unwrap(commands.updateTask(id, edit)),
  deleteTask: async (id) => {
    await unwrap(commands.deleteTask(id));
  },
  addDependency: (taskId, afterId) => unwrap(commands.addDependency(taskId, afterId)),
  removeDependency: (taskId, afterId) => unwrap(commands.removeDependency(taskId, afterId)),
  graphRun: (projectId) => unwrap(commands.graphRun(projectId)),
  runGraph: (projectId) => unwrap(commands.runGraph(projectId)),
  stopGraph: (projectId) => unwrap(commands.stopGraph(projectId)),
  inbox: () => unwrap(commands.inbox()),
  answerQuestion: async (id, answers) => {
    await unwrap(commands.answerQuestion(id, answers));
  },
  approveTask: (id) => unwrap(commands.approveTask(id)),
  rejectTask: (id) => unwrap(commands.rejectTask(id)),
  startRun: (taskId) => unwrap(commands.startRun(taskId)),
  listRuns: (taskId) => unwrap(commands.listRuns(taskId)),
  getRun: (id) => unwrap(commands.getRun(id)),
  runConsults: (id) => unwrap(commands.runConsults(id)),
  cancelRun: (id) => unwrap(commands.cancelRun(id)),
  followUpRun: (id, message) => unwrap(commands.followUpRun(id, message)),
  reviewRun: (id, comments, message) => unwrap(commands.reviewRun(id, comments, message)),
  reviewComments: (id) => unwrap(commands.reviewComments(id)),
  mergeRun: (id, force) => unwrap(commands.mergeRun(id, force)),
  dismissRun: (id) => unwrap(commands.dismissRun(id)),
  mergePreview: (id) => unwrap(commands.mergePreview(id)),
  runDiff: (id, against) => unwrap(commands.runDiff(id, against)),
  runFileDiff: (id, path, against) => unwrap(commands.runFileDiff(id, path, against)),
  followRun: async (id, onMessage) => {
    const channel = new Channel<RunStreamDto>();
    channel.onmessage = onMessage;
    const token = await unwrap(commands.followRun(id, channel));
    return () => {
      void commands.closeRunStream(token);
    };
  },
  runLogBefore: (id, before, limit) => unwrap(commands.runLogBefore(id, before, limit)),
  getSettings: () => unwrap(commands.getSettings()),
  setTheme: async (theme) => {
    await unwrap(commands.setTheme(theme));
  },
  sendTestNotification: () => unwrap(commands.sendTestNotification()),
  listApiKeys: () => unwrap(commands.listApiKeys()),
  setApiKey: async (name, value) => {
    await unwrap(commands.setApiKey(name, value));
  },
  deleteApiKey: async (name) => {
    await unwrap(commands.deleteApiKey(name));
  },
  pickFolder: async () => {
    const picked = await open({ directory: true, multiple: false, title: "Choose a git repository" });
    return typeof picked === "string" ? picked : null;
  },
  onEvent: async (handler) => events.corralEvent.listen((e) => handler(e.payload)),
};
