import { randomBytes } from "node:crypto";
import pg from "pg";

/** A fresh database on the admin server, dropped (WITH (FORCE)) by `drop`. */
export interface BenchDatabase {
  name: string;
  url: string;
  /** Rows in the `event` table. */
  eventCount(): Promise<number>;
  /**
   * The next transaction id the server will assign: the difference over a run is the number of
   * writing transactions (commits) in it, readable at once (the statistics views lag).
   */
  nextXid(): Promise<number>;
  drop(): Promise<void>;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** One statement on the database at `url`, on a connection of its own. */
export function queryDatabase<R extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  sql: string,
  params?: unknown[],
): Promise<R[]> {
  return withClient(url, async (c) => (await c.query<R>(sql, params)).rows);
}

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `ar_bench_${randomBytes(5).toString("hex")}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropping: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    eventCount: () =>
      withClient(url.toString(), async (c) => {
        const result = await c.query<{ n: string }>("SELECT count(*) AS n FROM event");
        return Number(result.rows[0]?.n ?? Number.NaN);
      }),
    nextXid: () =>
      withClient(adminUrl, async (c) => {
        const result = await c.query<{ x: string }>(
          "SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x",
        );
        return Number(result.rows[0]?.x ?? Number.NaN);
      }),
    drop() {
      dropping ??= withClient(adminUrl, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
      return dropping;
    },
  };
}
