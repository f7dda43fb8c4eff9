import type { Knex } from "knex";

/**
 * Tenants (the ACE store lives here too), integer dictionaries for actors, spaces and content,
 * the append-only event table, and the two rollups the reports read.
 * Every table except `tenant` itself has the tenant as the first column of its primary key,
 * so the schema can later be distributed by tenant.
 */
const STATEMENTS = [
  `
    CREATE TABLE tenant (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      client_key text COLLATE "C" NOT NULL UNIQUE,
      base_url text NOT NULL,
      client_info jsonb NOT NULL,
      forge_installation_id text COLLATE "C" UNIQUE,
      installed_at timestamptz NOT NULL DEFAULT now(),
      uninstalled_at timestamptz
    )`,
  `
    CREATE TABLE ace_setting (
      tenant_id integer NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
      key text COLLATE "C" NOT NULL,
      val jsonb NOT NULL,
      PRIMARY KEY (tenant_id, key)
    )`,
  `
    CREATE TABLE actor (
      tenant_id integer NOT NULL,
      id integer GENERATED ALWAYS AS IDENTITY,
      account_id text COLLATE "C" NOT NULL,
      account_type text COLLATE "C" NOT NULL,
      first_seen_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, id),
      UNIQUE (tenant_id, account_id)
    )`,
  `
    CREATE TABLE space (
      tenant_id integer NOT NULL,
      id integer GENERATED ALWAYS AS IDENTITY,
      space_key text COLLATE "C" NOT NULL,
      PRIMARY KEY (tenant_id, id),
      UNIQUE (tenant_id, space_key)
    )`,
  `
    -- The latest known title and type of each piece of content an event touched.
    CREATE TABLE content (
      tenant_id integer NOT NULL,
      id integer GENERATED ALWAYS AS IDENTITY,
      content_key text COLLATE "C" NOT NULL,
      content_type text COLLATE "C",
      title text,
      space_id integer,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, id),
      UNIQUE (tenant_id, content_key)
    )`,
  `
    -- One row per tracked action, never updated.
    CREATE TABLE event (
      tenant_id integer NOT NULL,
      id bigint GENERATED ALWAYS AS IDENTITY,
      occurred_at timestamptz NOT NULL,
      received_at timestamptz NOT NULL,
      actor_id integer NOT NULL,
      type smallint NOT NULL,
      webhook smallint NOT NULL,
      space_id integer,
      content_id integer,
      PRIMARY KEY (tenant_id, id)
    )`,
  `
    CREATE INDEX event_tenant_time ON event (tenant_id, occurred_at) INCLUDE (actor_id, type)`,
  `
    CREATE INDEX event_tenant_space_time ON event (tenant_id, space_id, occurred_at)
      INCLUDE (actor_id, type)`,
  `
    CREATE INDEX event_tenant_actor_time ON event (tenant_id, actor_id, occurred_at)`,
  `
    -- Per user and UTC day: counts by type, and a bit per quarter-hour with activity. The
    -- quarter-hour bits make active days exact in every IANA zone (all offsets are multiples
    -- of 15 minutes), without keeping one row per quarter-hour.
    CREATE TABLE user_day (
      tenant_id integer NOT NULL,
      actor_id integer NOT NULL,
      day date NOT NULL,
      quarters bit(96) NOT NULL,
      n_view integer NOT NULL DEFAULT 0,
      n_create integer NOT NULL DEFAULT 0,
      n_edit integer NOT NULL DEFAULT 0,
      n_delete integer NOT NULL DEFAULT 0,
      n_comment integer NOT NULL DEFAULT 0,
      n_like integer NOT NULL DEFAULT 0,
      n_attachment integer NOT NULL DEFAULT 0,
      n_label integer NOT NULL DEFAULT 0,
      n_space integer NOT NULL DEFAULT 0,
      n_other integer NOT NULL DEFAULT 0,
      PRIMARY KEY (tenant_id, actor_id, day)
    )`,
  `
    CREATE INDEX user_day_tenant_day ON user_day (tenant_id, day)`,
  `
    -- Site-wide events per quarter-hour and type: exact calendars and breakdowns in any zone.
    CREATE TABLE site_quarter (
      tenant_id integer NOT NULL,
      bucket timestamptz NOT NULL,
      type smallint NOT NULL,
      events integer NOT NULL,
      PRIMARY KEY (tenant_id, bucket, type)
    )  `,
];

export async function up(knex: Knex): Promise<void> {
  for (const sql of STATEMENTS) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    "DROP TABLE site_quarter, user_day, event, content, space, actor, ace_setting, tenant",
  );
}
