// `rewind:gate`: what must pass after the app changes.
import { z } from "zod";
import { boolean, integer, nonEmpty, strictObject, urlPath } from "./fields";

/** `rewind:gate`: what must pass after the app changes. */
export const gateSchema = strictObject({
  /**
   * Whether the gate runs; required on in production by policy.
   * @default true
   */
  enabled: boolean().default(true),
  /**
   * HTTP requests that must answer with the expected status.
   * @default []
   */
  smoke: z
    .array(
      strictObject({
        path: urlPath(),
        /** @default 200 */
        expectStatus: integer("an HTTP status from 100 to 599", 100, 599).default(200),
      }),
      { error: "a list of { path, expectStatus }" },
    )
    .default([]),
  /**
   * SQL queries that must return at least `minRows` rows (the runbooks' row counts).
   * @default []
   */
  sql: z
    .array(
      strictObject({
        query: nonEmpty("an SQL query"),
        /** @default 1 */
        minRows: integer("an integer of at least 0", 0).default(1),
      }),
      { error: "a list of { query, minRows }" },
    )
    .default([]),
});

export type GateConfig = z.infer<typeof gateSchema>;
