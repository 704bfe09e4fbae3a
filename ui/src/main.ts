import { mount } from "svelte";
import { toast } from "svelte-sonner";
import "./app.css";
import App from "./App.svelte";
import { tauriBackend } from "./lib/api/tauri";
import { AppController, appContext } from "./lib/state/app.svelte";

const app = new AppController(tauriBackend, (action, failure) =>
  toast.error(`${action} failed`, { description: failure.text }),
);

const target = document.getElementById("app");
if (target) mount(App, { target, context: appContext(app) });
