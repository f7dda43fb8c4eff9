import type { Knex } from "knex";

/**
 * What the reports need besides events: when each user was last active (site-wide and per
 * space, kept at ingestion), and caches of Confluence's answers (profiles, group members).
 */
const STATEMENTS = [
  `ALTER TABLE actor ADD COLUMN last_active_at timestamptz`,
  `UPDATE actor a SET last_active_at = m.last
   FROM (SELECT tenant_id, actor_id, max(occurred_at) AS last FROM event GROUP BY 1, 2) m
   WHERE a.tenant_id = m.tenant_id AND a.id = m.actor_id`,
  `CREATE TABLE space_actor (
     tenant_id integer NOT NULL,
     space_id integer NOT NULL,
     actor_id integer NOT NULL,
     last_active_at timestamptz NOT NULL,
     PRIMARY KEY (tenant_id, space_id, actor_id)
   )`,
  `INSERT INTO space_actor (tenant_id, space_id, actor_id, last_active_at)
   SELECT tenant_id, space_id, actor_id, max(occurred_at) FROM event
   WHERE space_id IS NOT NULL GROUP BY 1, 2, 3`,
  // Display names and avatars from Confluence. known = false: Confluence no longer knows the
  // account (closed or deleted); the report then shows the account id.
  `CREATE TABLE user_profile (
     tenant_id integer NOT NULL,
     account_id text COLLATE "C" NOT NULL,
     known boolean NOT NULL,
     display_name text,
     avatar_url text,
     profile_url text,
     fetched_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (tenant_id, account_id)
   )`,
  // Current members of a group, as Confluence last listed them.
  `CREATE TABLE group_cache (
     tenant_id integer NOT NULL,
     group_id text COLLATE "C" NOT NULL,
     fetched_at timestamptz NOT NULL,
     PRIMARY KEY (tenant_id, group_id)
   )`,
  `CREATE TABLE group_member (
     tenant_id integer NOT NULL,
     group_id text COLLATE "C" NOT NULL,
     account_id text COLLATE "C" NOT NULL,
     PRIMARY KEY (tenant_id, group_id, account_id)
   )`,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP TABLE group_member, group_cache, user_profile, space_actor");
  await knex.raw("ALTER TABLE actor DROP COLUMN last_active_at");
}
