// Real-PostgreSQL helpers for the integration tests: a database of the test's own, queries,
// and what an operator checks (rows, their checksum, the columns, the revision).
import { randomBytes } from "node:crypto";
import { Client } from "pg";

/** The superuser URL of the local cluster (scripts/services). */
export function adminUrl(): string {
  const url = process.env.REWIND_PG_URL;
  if (!url) {
    throw new Error("REWIND_PG_URL is not set: run integration tests through scripts/test");
  }
  return url;
}

/** A fresh database of the test's own. */
export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Drops it, whatever still holds a connection. */
  drop(): Promise<void>;
}

/**
 * Creates a database, on a short admin session: a test that stops PostgreSQL leaves no broken
 * long-lived connection behind.
 */
export async function createDatabase(): Promise<TestDatabase> {
  const name = `rewind_db_${randomBytes(4).toString("hex")}`;
  await sql(adminUrl(), `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () =>
      sql(adminUrl(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined),
  };
}

/** Runs `body` with a fresh database (its URL and name), dropped afterwards. */
export async function withDatabase<T>(body: (url: string, name: string) => Promise<T>): Promise<T> {
  const db = await createDatabase();
  try {
    return await body(db.url, db.name);
  } finally {
    await db.drop();
  }
}

/** Runs one statement and returns its rows. */
export async function sql<R extends object = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Row count and a checksum of `items` over the given columns (all of them by default). */
export async function itemsChecksum(
  url: string,
  columns?: readonly string[],
): Promise<{ count: number; md5: string }> {
  const row = columns ? `jsonb_build_array(${columns.join(", ")})` : "to_jsonb(i)";
  const [result] = await sql<{ count: string; md5: string }>(
    url,
    `SELECT count(*) AS count,
            md5(coalesce(string_agg(${row}::text, E'\\n' ORDER BY id), '')) AS md5
       FROM items i`,
  );
  return { count: Number(result.count), md5: result.md5 };
}

/** The columns of `items`, in table order. */
export async function columnsOfItems(url: string): Promise<string[]> {
  const rows = await sql<{ column_name: string }>(
    url,
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = 'items' ORDER BY ordinal_position`,
  );
  return rows.map((r) => r.column_name);
}
