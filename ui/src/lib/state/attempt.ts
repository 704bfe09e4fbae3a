// Running an action whose failure is shown to the user rather than thrown.
import { ApiFailure } from "../api/backend";

/** Shows a failed action to the user (a toast in the app, a recorder in tests). */
export type ErrorReporter = (action: string, failure: ApiFailure) => void;

/** Runs `body`; a failure is reported under `action` and comes back as null. */
export type Attempt = <T>(action: string, body: () => Promise<T>) => Promise<T | null>;

export function asFailure(e: unknown): ApiFailure {
  return e instanceof ApiFailure ? e : new ApiFailure({ kind: "internal", message: String(e), fix: null });
}

export function attempter(report: ErrorReporter): Attempt {
  return async (action, body) => {
    try {
      return await body();
    } catch (e) {
      report(action, asFailure(e));
      return null;
    }
  };
}
