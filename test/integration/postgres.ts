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

/** Runs `body` with a fresh database (its URL and name), dropped afterwards. */
export async function withDatabase<T>(body: (url: string, name: string) => Promise<T>): Promise<T> {
  const name = `rewind_db_${randomBytes(4).toString("hex")}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl());
    url.pathname = `/${name}`;
    try {
      return await body(url.toString(), name);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
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
