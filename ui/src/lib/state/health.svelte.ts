// The health screen and banner: what Corral needs on this machine (`corral doctor`).
import type { Backend, CheckDto } from "../api/backend";
import type { Attempt } from "./attempt";

export class HealthController {
  checks = $state<CheckDto[]>([]);
  checking = $state(false);
  failing = $derived(this.checks.filter((c) => c.status === "fail"));

  constructor(
    private readonly backend: Backend,
    private readonly attempt: Attempt,
  ) {}

  async run() {
    this.checking = true;
    const checks = await this.attempt("Running the health checks", () => this.backend.doctor());
    if (checks) this.checks = checks;
    this.checking = false;
  }
}
