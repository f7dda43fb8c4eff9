import type { WebhookFacts } from "../events/payload.js";

export interface TrackingPolicy {
  /** Whether actions of app (bot) accounts are recorded. Default: no. */
  trackAppAccounts: boolean;
}

export const DEFAULT_TRACKING_POLICY: TrackingPolicy = { trackAppAccounts: false };

/** Whether an authenticated, valid webhook becomes an event row. */
export function isTracked(facts: WebhookFacts, policy: TrackingPolicy): boolean {
  if (facts.accountType === "app" && !policy.trackAppAccounts) return false;
  return true;
}
