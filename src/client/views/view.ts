import type { ReportState } from "../state.js";

/** A tab's content: loads for a state (aborted through `signal`), or clears its figures. */
export interface View {
  /** Loads and draws; rejects on failure; draws nothing once `signal` is aborted. */
  load(state: Readonly<ReportState>, signal: AbortSignal): Promise<void>;
  /** Removes the figures of an earlier load (after a failure: none may stay under the error). */
  clear(): void;
}
