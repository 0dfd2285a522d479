// How many rows were written since a snapshot: PostgreSQL's cumulative per-table counters
// (pg_stat_user_tables: rows inserted, updated and deleted) recorded in the snapshot's manifest,
// compared with the same counters now. An estimate for the data-loss warning of a restore. Pure.

/** The counters as read at one moment. */
export interface WriteCounters {
  /** pg_stat_database.stats_reset of the database, ISO 8601; null if never reset. */
  readonly statsReset: string | null;
  /** `schema.table` → n_tup_ins + n_tup_upd + n_tup_del. */
  readonly tables: Readonly<Record<string, number>>;
}

/** The estimate, with how it was made. */
export interface WriteEstimate {
  /** null when the counters cannot be compared. */
  readonly rows: number | null;
  readonly basis: string;
}

/**
 * Rows inserted, updated or deleted since `then`, summed over tables (a table new since then
 * counts whole). Counters that were reset in between, or went down, make it unknown.
 */
export function estimateWritesSince(
  then: WriteCounters | undefined,
  now: WriteCounters,
): WriteEstimate {
  if (then === undefined) {
    return { rows: null, basis: "no estimate: the snapshot records no write counters" };
  }
  const basis = "rows inserted, updated or deleted since, from pg_stat_user_tables";
  if (then.statsReset !== now.statsReset) {
    return { rows: null, basis: "no estimate: the database's statistics were reset since" };
  }
  let rows = 0;
  for (const [table, count] of Object.entries(now.tables)) {
    const before = then.tables[table] ?? 0;
    if (count < before) {
      return { rows: null, basis: `no estimate: the counters of ${table} went down (a reset)` };
    }
    rows += count - before;
  }
  return { rows, basis };
}
