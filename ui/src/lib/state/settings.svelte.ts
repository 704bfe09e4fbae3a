// App settings: the theme, where the data lives, the API keys (names and sources, never values).
import type { ApiKeyDto, Backend, ThemeDto } from "../api/backend";
import type { Attempt } from "./attempt";

export class SettingsController {
  theme = $state<ThemeDto>("system");
  dataDir = $state("");
  /** API keys by name with where they come from; reloaded after each change. */
  apiKeys = $state<ApiKeyDto[]>([]);

  constructor(
    private readonly backend: Backend,
    private readonly attempt: Attempt,
  ) {}

  async load() {
    const settings = await this.attempt("Loading settings", () => this.backend.getSettings());
    if (settings) {
      this.theme = settings.theme;
      this.dataDir = settings.data_dir;
    }
  }

  async setTheme(theme: ThemeDto) {
    this.theme = theme;
    await this.attempt("Saving the theme", () => this.backend.setTheme(theme));
  }

  toggleTheme() {
    const dark =
      this.theme === "dark" ||
      (this.theme === "system" && globalThis.matchMedia?.("(prefers-color-scheme: dark)").matches);
    return this.setTheme(dark ? "light" : "dark");
  }

  async loadApiKeys() {
    const keys = await this.attempt("Reading the API keys", () => this.backend.listApiKeys());
    if (keys) this.apiKeys = keys;
  }

  async setApiKey(name: string, value: string) {
    const done = await this.attempt("Storing the key", async () => {
      await this.backend.setApiKey(name, value);
      return true;
    });
    await this.loadApiKeys();
    return done === true;
  }

  async deleteApiKey(name: string) {
    await this.attempt("Removing the key", () => this.backend.deleteApiKey(name));
    await this.loadApiKeys();
  }

  async sendTestNotification() {
    return this.attempt("Sending a test notification", () => this.backend.sendTestNotification());
  }
}
