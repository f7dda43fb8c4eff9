import type { WebhookFacts } from "../events/payload.js";
import type { TrackingPolicy } from "../settings/tracking-policies.js";

/** Whether an authenticated, valid webhook becomes an event row under a site's settings. */
export function isTracked(facts: WebhookFacts, policy: TrackingPolicy): boolean {
  if (facts.accountType === "app" && !policy.trackAppAccounts) return false;
  if (policy.excludedAccounts.has(facts.accountId)) return false;
  if (facts.spaceKey !== null && policy.excludedSpaces.has(facts.spaceKey)) return false;
  return true;
}
