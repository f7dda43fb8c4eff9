/** The people, spaces and groups of each fuzzed site (see fuzz-app-child.ts), and its IPC. */
import { groupIdFromName } from "../../src/dev/fake-confluence.js";

export const FUZZ_USERS = {
  admin: "fz-site-admin",
  spaceAdmin: "fz-space-admin",
  user: "fz-plain-user",
} as const;
/** People with seeded activity (besides the three viewers). */
export const FUZZ_ACTIVE = ["alice", "bob", "=cmd", "<b>mallory</b>"] as const;
/** The space FUZZ_USERS.spaceAdmin administers. */
export const FUZZ_ADMINED_SPACE = "ENG";
export const FUZZ_SPACES = ["ENG", "HR", "DOCS"] as const;
export const FUZZ_GROUPS = ["confluence-users", "eng-leads", "writers"] as const;
export const FUZZ_GROUP_IDS = FUZZ_GROUPS.map(groupIdFromName);

export type ToChild =
  | { id: number; op: "query"; sql: string; bindings: unknown[] }
  | { id: number; op: "errors" }
  | { id: number; op: "stop" };

export type FromChild =
  | { op: "ready"; url: string; sites: { clientKey: string; sharedSecret: string }[] }
  | { op: "failed"; message: string }
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; message: string };
