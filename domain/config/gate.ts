// `rewind:gate`: what must pass after the app changes.
import { z } from "zod";
import { argv, boolean, integer, matching, nonEmpty, strictObject, urlPath } from "./fields";

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
        /**
         * The longest the answer may take, in milliseconds (a runbook's "< 2 s" is 2000).
         * @default no limit
         */
        maxMs: integer("an integer number of milliseconds, at least 1", 1).optional(),
      }),
      { error: "a list of { path, expectStatus, maxMs }" },
    )
    .default([]),
  /**
   * Dependencies that must accept a TCP connection (Redis, a queue), each within the gate's
   * timeout.
   * @default none
   */
  tcp: z
    .array(
      strictObject({
        /** What it is, for messages, e.g. "redis". */
        name: nonEmpty("a name for messages, e.g. redis"),
        host: matching(/^[A-Za-z0-9.:_-]+$/, "a host name or IP address"),
        port: integer("a port from 1 to 65535", 1, 65535),
      }),
      { error: "a list of { name, host, port }" },
    )
    .optional(),
  /**
   * Commands run once in a fresh container of the app's image (host network, no environment:
   * the app's may hold secrets); exit 0 passes, e.g. ["redis-cli", "-h", "127.0.0.1", "ping"].
   * @default none
   */
  command: z
    .array(
      strictObject({
        name: nonEmpty("a name for messages, e.g. redis"),
        command: argv(),
      }),
      { error: "a list of { name, command }" },
    )
    .optional(),
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
