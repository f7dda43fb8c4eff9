/**
 * The API's answers as the client receives them: the server's own return types (type-only
 * imports, erased from the bundle), as JSON. A field renamed on the server fails the client's
 * type check.
 */
import type { ReportService } from "../reports/service.js";
import type { AuditEntry, KnownNames, Settings } from "../settings/settings.js";
import type { FoundPerson, FoundSpace } from "../confluence/lookup.js";
import type { PageData } from "../http/page-data.js";
import type { ErrorDetail } from "../errors.js";

/** What JSON.stringify makes of a value: dates become strings, functions disappear. */
export type Json<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Json<U>[]
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;

type Answer<K extends keyof ReportService> = ReportService[K] extends (
  ...args: never[]
) => Promise<infer R>
  ? Json<R>
  : never;

export type UsersAnswer = Answer<"users">;
export type UserRow = UsersAnswer["rows"][number];
export type CalendarAnswer = Answer<"calendar">;
export type CalendarDay = CalendarAnswer["days"][number];
export type BreakdownAnswer = Answer<"breakdown">;
export type Counts = BreakdownAnswer["counts"];
export type ActivityAnswer = Answer<"userActivity">;
export type RecentEvent = ActivityAnswer["recent"][number];
export type GroupsAnswer = { groups: Json<Awaited<ReturnType<ReportService["groups"]>>> };
export type Group = GroupsAnswer["groups"][number];
export interface SettingsAnswer {
  settings: Json<Settings>;
  names: Json<KnownNames>;
  audit: Json<AuditEntry>[];
}
export type AuditEntryAnswer = SettingsAnswer["audit"][number];
export type AuditChangeAnswer = AuditEntryAnswer["changes"][number];
export type SettingsBody = Json<Settings>;
export interface PeopleLookupAnswer {
  people: Pick<FoundPerson, "accountId" | "displayName" | "avatarUrl">[];
}
export interface SpacesLookupAnswer {
  spaces: Json<FoundSpace>[];
}
/** Every 4xx/5xx answer of the API; `details` names each bad value (saving settings). */
export interface ErrorAnswer {
  error: { code: string; message: string; details?: ErrorDetail[] };
}
export type ErrorDetailAnswer = ErrorDetail;
export type { PageData };
