import type { Knex } from "knex";
import type { Db } from "../../db/knex.js";
import { EVENT_TYPE_NAMES } from "../../events/types.js";
import type { UserSortKey, UsersParams } from "../params.js";
import { intArray } from "../exclusions.js";
import { splitRange, type ZoneState } from "../sealing.js";
import {
  boundsLiteral,
  COUNT_COLUMNS,
  type Counts,
  countsFrom,
  MASKS_CTE,
  masksJsonOf,
  RAW_TYPE_COUNTS,
  rollupActiveDaysSql,
  rawCountsSql,
  rollupCountsSql,
  sealedRowsSql,
  SUM_COUNTS,
  TOTAL_EXPR,
} from "./sql.js";

export interface UserRow {
  accountId: string;
  displayName: string | null;
  avatarUrl: string | null;
  profileUrl: string | null;
  /** false: Confluence no longer knows the account; null: not looked up yet. */
  known: boolean | null;
  counts: Counts;
  total: number;
  activeDays: number;
  lastActive: string | null;
}

export interface UsersReport {
  total: number;
  rows: UserRow[];
  summary: {
    /** People listed (every page). */
    users: number;
    /** Members of the licence group; null when it is not known. */
    siteUsers: number | null;
    /** Listed people who are not members of the licence group; null when it is not known. */
    outsideSiteUsers: number | null;
    counts: Counts;
  };
}

const SORT_SQL: Record<Exclude<UserSortKey, (typeof EVENT_TYPE_NAMES)[number]>, string> = {
  name: "lower(coalesce(display_name, account_id))",
  total: "total",
  activeDays: "active_days",
  lastActive: "last_active",
};

/**
 * The ORDER BY of the users report (the JSON pages and the CSV share it). Only Last active can
 * be null (never active): never is the longest ago, so those people come first ascending (the
 * clean-up list's head) and last descending. Ties: account id, so pages never overlap.
 */
function orderBy(sort: UserSortKey, order: "asc" | "desc"): string {
  const column = sort in SORT_SQL ? SORT_SQL[sort as keyof typeof SORT_SQL] : `n_${sort}`;
  const dir = order === "asc" ? "ASC NULLS FIRST" : "DESC NULLS LAST";
  return `${column} ${dir}, account_id ASC`;
}

/**
 * The listed users of the users report (everyone with an event in the range that passes the
 * filters), with per-type counts, active days and last activity; one SQL statement.
 * Site-wide: rollups (user_day) plus raw events for the partial UTC days at the ends.
 * With a space: raw events of that space (indexed by tenant, space, time).
 */
export function usersReportSql(
  tenantId: number,
  p: Pick<UsersParams, "range" | "space" | "q" | "group" | "sort" | "order">,
  zone: ZoneState | null = null,
  /** Account ids excluded from tracking: never listed (their past data is kept). */
  excluded: string[] = [],
  /** A group id: its current members without an event are listed too, with zeros. */
  inactiveGroup: string | null = null,
  /** Excluded spaces: their events leave every person's counts and active days. */
  excludedSpaces: number[] = [],
  /**
   * "ordered": every listed row, sorted, for the CSV stream (account id and counts): active
   * days and last activity are computed only when the sort needs them (NULL otherwise).
   * "paged": unsorted, every column (getUsersReport sorts, pages and adds the profiles of one
   * page). Either way, profiles only when the search or the sort needs them.
   */
  shape: "ordered" | "paged" = "ordered",
): { sql: string; bindings: (string | number)[]; profiles: boolean } {
  const bindings: (string | number)[] = [];
  // Active days cost a pass over the rollups' quarter bits (and, with excluded spaces, a probe
  // per person and day); an export of counts sorted otherwise does without them.
  const withActiveDays = shape === "paged" || p.sort === "activeDays";
  const withLastActive = shape === "paged" || p.sort === "lastActive";
  let ctes: string;
  if (p.space === null) {
    // Sealed periods: their sums. Days before and after them: rollups + raw edges.
    const split = splitRange(p.range, zone);
    const parts: string[] = [];
    const members: string[] = [];
    if (split.sealed) {
      const { sql, bindings: b } = sealedRowsSql(tenantId, split.sealed, null);
      parts.push(`sealed AS (${sql})`);
      members.push(`SELECT actor_id, ${COUNT_COLUMNS.join(", ")}, active_days FROM sealed`);
      bindings.push(...b);
    }
    // A live part within two UTC days (today, usually) is all raw edges: one pass over its raw
    // events gives counts and active days (rollup rows would add nothing but a join).
    const fromRollups = split.live.filter((live) => live.fullUtcDays !== null);
    if (withActiveDays && fromRollups.length > 0) {
      parts.push(MASKS_CTE);
      bindings.push(masksJsonOf(fromRollups));
    }
    split.live.forEach((live, i) => {
      if (live.fullUtcDays === null) {
        const raw = rawCountsSql(live, tenantId, withActiveDays);
        parts.push(`c${i} AS (${raw.sql})`);
        bindings.push(...raw.bindings);
        members.push(`SELECT actor_id, ${COUNT_COLUMNS.join(", ")}, active_days FROM c${i}`);
        return;
      }
      const counts = rollupCountsSql(live, tenantId, null);
      parts.push(`c${i} AS (${counts.sql})`);
      bindings.push(...counts.bindings);
      const columns = COUNT_COLUMNS.map((x) => `c${i}.${x}`).join(", ");
      if (withActiveDays) {
        const active = rollupActiveDaysSql(live, tenantId, null);
        parts.push(`d${i} AS (${active.sql})`);
        bindings.push(...active.bindings);
        members.push(`SELECT c${i}.actor_id, ${columns}, d${i}.active_days
          FROM c${i} JOIN d${i} USING (actor_id)`);
      } else {
        members.push(`SELECT c${i}.actor_id, ${columns}, 0 AS active_days FROM c${i}`);
      }
    });
    if (excludedSpaces.length > 0) {
      // The rollups count every space: take away each person's events in excluded spaces, and
      // the days on which those were all they did (one probe per person and day).
      const spaces = intArray(excludedSpaces);
      const bounds = boundsLiteral(p.range);
      parts.push(
        `xe AS (
           SELECT width_bucket(occurred_at, ?::timestamptz[]) AS i, actor_id, ${RAW_TYPE_COUNTS}
           FROM event
           WHERE tenant_id = ? AND occurred_at >= ? AND occurred_at < ?
             AND space_id = ANY(?::int[])
           GROUP BY 1, 2
         )`,
      );
      bindings.push(
        bounds,
        tenantId,
        p.range.start.toISOString(),
        p.range.end.toISOString(),
        spaces,
      );
      const taken = COUNT_COLUMNS.map((c) => `-xe.${c}`).join(", ");
      if (withActiveDays) {
        members.push(`SELECT xe.actor_id, ${taken},
            CASE WHEN EXISTS (
              SELECT 1 FROM event e
              WHERE e.tenant_id = ? AND e.actor_id = xe.actor_id
                AND e.occurred_at >= (?::timestamptz[])[xe.i]
                AND e.occurred_at < (?::timestamptz[])[xe.i + 1]
                AND (e.space_id IS NULL OR e.space_id <> ALL(?::int[]))
            ) THEN 0 ELSE -1 END
          FROM xe`);
        bindings.push(tenantId, bounds, bounds, spaces);
      } else {
        members.push(`SELECT xe.actor_id, ${taken}, 0 FROM xe`);
      }
    }
    ctes = `${parts.join(",\n")},
      summed AS (
        SELECT x.actor_id, ${COUNT_COLUMNS.map((c) => `sum(x.${c})::int AS ${c}`).join(", ")},
          ${withActiveDays ? "sum(x.active_days)::int" : "NULL::int"} AS active_days
        FROM (${members.join(" UNION ALL ")}) x
        GROUP BY x.actor_id
        -- Listed: people with an event left in the range (every row has one, unless all of
        -- theirs were in excluded spaces or outside a period's slice). The sum of the column
        -- sums above (no column is ever null), not sum(x.n_view + ...): PostgreSQL computes
        -- each distinct aggregate once, so this adds no aggregate over the rows (25,000 of them
        -- for a 30-day report on bench:reports' site; the extra sum cost about 3 ms).
        HAVING ${COUNT_COLUMNS.map((c) => `sum(x.${c})`).join(" + ")} > 0
      ),
      stats AS (
        SELECT s.*, a.account_id, a.last_active_at AS last_active
        FROM summed s JOIN actor a ON a.tenant_id = ? AND a.id = s.actor_id
      )`;
    bindings.push(tenantId);
  } else {
    ctes = `sp AS (SELECT id FROM space WHERE tenant_id = ? AND space_key = ?),
      c AS (
        SELECT actor_id, ${RAW_TYPE_COUNTS},
          count(DISTINCT width_bucket(occurred_at, ?::timestamptz[]))::int AS active_days
        FROM event
        WHERE tenant_id = ? AND space_id = (SELECT id FROM sp)
          AND (SELECT id FROM sp) <> ALL(?::int[])
          AND occurred_at >= ? AND occurred_at < ?
        GROUP BY actor_id
      ),
      stats AS (
        SELECT c.*, a.account_id, sa.last_active_at AS last_active
        FROM c JOIN actor a ON a.tenant_id = ? AND a.id = c.actor_id
        LEFT JOIN space_actor sa
          ON sa.tenant_id = a.tenant_id AND sa.space_id = (SELECT id FROM sp) AND sa.actor_id = a.id
      )`;
    bindings.push(
      tenantId,
      p.space,
      boundsLiteral(p.range),
      tenantId,
      intArray(excludedSpaces),
      p.range.start.toISOString(),
      p.range.end.toISOString(),
      tenantId,
    );
  }

  // Site-wide, Last active leaves out excluded spaces too: the latest event left (one
  // backwards index probe per person); the stored time only when retention removed every raw
  // event of theirs (otherwise it may be an excluded space's).
  const lastLeft = (actor: string, stored: string) =>
    !withLastActive
      ? "NULL::timestamptz"
      : p.space === null && excludedSpaces.length > 0
        ? `coalesce((SELECT e.occurred_at FROM event e
           WHERE e.tenant_id = ? AND e.actor_id = ${actor}
             AND (e.space_id IS NULL OR e.space_id <> ALL(?::int[]))
           ORDER BY e.occurred_at DESC LIMIT 1),
         CASE WHEN NOT EXISTS (SELECT 1 FROM event e WHERE e.tenant_id = ? AND e.actor_id = ${actor})
           THEN ${stored} END)`
        : stored;
  const lastLeftBindings =
    withLastActive && p.space === null && excludedSpaces.length > 0
      ? [tenantId, intArray(excludedSpaces), tenantId]
      : [];
  const base = `SELECT account_id, active_days, ${lastLeft("stats.actor_id", "last_active")} AS last_active,
    ${COUNT_COLUMNS.join(", ")} FROM stats`;
  bindings.push(...lastLeftBindings);
  if (inactiveGroup !== null) {
    // Members of the group with no event in the range: zeros, and when they were last active
    // (site-wide, or in the space), or never.
    const lastActive =
      p.space === null || !withLastActive
        ? lastLeft("a.id", "a.last_active_at")
        : `(SELECT sa.last_active_at FROM space_actor sa WHERE sa.tenant_id = a.tenant_id
             AND sa.space_id = (SELECT id FROM sp) AND sa.actor_id = a.id)`;
    bindings.push(...(p.space === null ? lastLeftBindings : []));
    ctes += `,
      everyone AS (
        ${base}
        UNION ALL
        SELECT g.account_id, 0, ${lastActive}, ${COUNT_COLUMNS.map(() => "0").join(", ")}
        FROM group_member g
        LEFT JOIN actor a ON a.tenant_id = g.tenant_id AND a.account_id = g.account_id
        WHERE g.tenant_id = ? AND g.group_id = ?
          AND NOT EXISTS (SELECT 1 FROM stats s WHERE s.account_id = g.account_id)
          ${p.space === null ? "" : "AND NOT EXISTS (SELECT 1 FROM sp WHERE sp.id = ANY(?::int[]))"}
      )`;
    bindings.push(tenantId, inactiveGroup);
    // An excluded space's report lists nobody, inactive members included.
    if (p.space !== null) bindings.push(intArray(excludedSpaces));
  } else {
    ctes += `,
      everyone AS (${base})`;
  }
  const profiles = p.q !== null || p.sort === "name";
  if (profiles) bindings.push(tenantId); // user_profile join
  const where: string[] = [];
  if (excluded.length > 0) {
    where.push("NOT (s.account_id = ANY(?::text[]))");
    bindings.push(
      `{${excluded.map((a) => `"${a.replace(/["\\]/g, (m) => `\\${m}`)}"`).join(",")}}`,
    );
  }
  if (p.q !== null) {
    const like = `%${p.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    where.push("(pr.display_name ILIKE ? OR s.account_id = ?)");
    bindings.push(like, p.q);
  }
  if (p.group !== null) {
    where.push(
      "EXISTS (SELECT 1 FROM group_member g WHERE g.tenant_id = ? AND g.group_id = ? AND g.account_id = s.account_id)",
    );
    bindings.push(tenantId, p.group);
  }
  const sql = `WITH ${ctes},
    listed AS (
      SELECT s.account_id, s.active_days, s.last_active, ${COUNT_COLUMNS.map((c) => `s.${c}`).join(", ")},
        (${TOTAL_EXPR})::int AS total
        ${profiles ? ", pr.display_name, pr.avatar_url, pr.profile_url, pr.known" : ""}
      FROM everyone s
      ${profiles ? "LEFT JOIN user_profile pr ON pr.tenant_id = ? AND pr.account_id = s.account_id" : ""}
      ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    )
    SELECT * FROM listed ${shape === "ordered" ? `ORDER BY ${orderBy(p.sort, p.order)}` : ""}`;
  return { sql, bindings, profiles };
}

/**
 * A page's row as a JSON array (PostgreSQL builds 1,000 of them in about half the time of as
 * many objects with their keys: 7 ms against 14 on bench:reports' site), turned into UserRow
 * by `userRowOf`. lastActive as toISOString() writes it (UTC, milliseconds).
 */
const USER_ROW_ARRAY = `json_build_array(account_id, display_name, avatar_url, profile_url, known,
  ${COUNT_COLUMNS.join(", ")}, total, active_days,
  to_char(last_active AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`;

/** accountId, displayName, avatarUrl, profileUrl, known, the counts, total, activeDays, lastActive. */
type UserRowArray = (string | number | boolean | null)[];

function userRowOf(a: UserRowArray): UserRow {
  const text = (i: number) => (a[i] ?? null) as string | null;
  const k = 5 + EVENT_TYPE_NAMES.length;
  return {
    accountId: a[0] as string,
    displayName: text(1),
    avatarUrl: text(2),
    profileUrl: text(3),
    known: (a[4] ?? null) as boolean | null,
    counts: Object.fromEntries(EVENT_TYPE_NAMES.map((t, i) => [t, Number(a[5 + i])])) as Counts,
    total: Number(a[k]),
    activeDays: Number(a[k + 1]),
    lastActive: text(k + 2),
  };
}

/**
 * Site-wide, the people listed come from a sum over a UNION ALL of sealed and live parts, whose
 * size PostgreSQL cannot estimate (it assumes 200 rows), so it joins the actor and profile
 * tables with one index probe per person. Hash joins measured about 30% faster (a 30-day report
 * over 5,000 people on 10 M events: 37 ms against 52). For the rest of the transaction only;
 * call inside the report's transaction.
 */
export async function planForManyPeople(
  trx: Db | Knex.Transaction,
  p: Pick<UsersParams, "space">,
): Promise<void> {
  if (p.space === null) await trx.raw("SET LOCAL enable_nestloop = off");
}

/**
 * One page of the users report, with the total and the summary over every listed user.
 * With `licenceGroup` (the confluence-users group id), the summary also counts its members
 * and the listed people outside it, read in the same snapshot as the rows: so
 * `users - outsideSiteUsers <= siteUsers` always holds.
 */
export async function getUsersReport(
  db: Db | Knex.Transaction,
  tenantId: number,
  p: UsersParams,
  zone: ZoneState | null,
  excluded: string[] = [],
  inactiveGroup: string | null = null,
  licenceGroup: string | null = null,
  excludedSpaces: number[] = [],
): Promise<UsersReport> {
  await planForManyPeople(db, p);
  const { sql, bindings, profiles } = usersReportSql(
    tenantId,
    p,
    zone,
    excluded,
    inactiveGroup,
    excludedSpaces,
    "paged",
  );
  const order = orderBy(p.sort, p.order);
  // The profiles of one page, unless the rows carry them already (search, name sort).
  const page = profiles
    ? { sql: `SELECT * FROM q ORDER BY ${order} LIMIT ? OFFSET ?`, bindings: [p.limit, p.offset] }
    : {
        sql: `SELECT q.*, pr.display_name, pr.avatar_url, pr.profile_url, pr.known
              FROM (SELECT * FROM q ORDER BY ${order} LIMIT ? OFFSET ?) q
              LEFT JOIN user_profile pr ON pr.tenant_id = ? AND pr.account_id = q.account_id`,
        bindings: [p.limit, p.offset, tenantId],
      };
  // Listed people outside the licence group: one anti-join (members are unique per group), not
  // a probe per listed person.
  const licence =
    licenceGroup === null
      ? { sql: "NULL::int AS site_users, NULL::int AS outside", join: "", bindings: [] }
      : {
          sql: `(SELECT count(*)::int FROM group_member WHERE tenant_id = ? AND group_id = ?)
                  AS site_users,
                (count(*) - count(g.account_id))::int AS outside`,
          join: `LEFT JOIN group_member g
                   ON g.tenant_id = ? AND g.group_id = ? AND g.account_id = q.account_id`,
          bindings: [tenantId, licenceGroup, tenantId, licenceGroup],
        };
  const result = await db.raw(
    `WITH q AS (${sql}),
      summary AS (SELECT count(*)::int AS users, ${licence.sql}, ${SUM_COUNTS} FROM q ${licence.join}),
      page AS (${page.sql})
     SELECT (SELECT row_to_json(summary) FROM summary) AS summary,
            coalesce((SELECT json_agg(${USER_ROW_ARRAY} ORDER BY ${order}) FROM page), '[]'::json)
              AS rows`,
    [...bindings, ...licence.bindings, ...page.bindings],
  );
  const row = result.rows[0] as { summary: Record<string, unknown>; rows: UserRowArray[] };
  const users = Number(row.summary.users);
  return {
    total: users,
    rows: row.rows.map(userRowOf),
    summary: {
      users,
      siteUsers: row.summary.site_users == null ? null : Number(row.summary.site_users),
      outsideSiteUsers: row.summary.outside == null ? null : Number(row.summary.outside),
      counts: countsFrom(row.summary),
    },
  };
}
