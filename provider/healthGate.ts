// Runs a HealthGate's checks against the real app and database. A failed check throws, which
// fails the `pulumi up`: that failure is what `rewind release` rolls back on.
import { ResourceHandler } from "./resourceHandler";
import { Client } from "pg";
import {
  CheckResult,
  GateCheck,
  gateChecks,
  gateVerdict,
  statusPasses,
} from "../domain/gateChecks";

/** A HealthGate's inputs as the provider receives them (secrets already unwrapped). */
export interface HealthGateInputs {
  baseUrl: string;
  live: string;
  ready: string;
  startup?: string;
  timeoutSeconds: number;
  smoke: { path: string; expectStatus: number }[];
  sql: { query: string; minRows: number }[];
  databaseUrl: string;
  enabled: boolean;
}

export interface HealthGateOutputs extends HealthGateInputs {
  passed: boolean;
  checkedAt: string;
  results: { check: GateCheck; ok: boolean; observed: string }[];
}

const POLL_MS = 250;
const REQUEST_TIMEOUT_MS = 5_000;

async function httpStatus(url: string): Promise<number | string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await res.arrayBuffer();
    return res.status;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Probes are retried until the deadline (the app may still be warming up); smoke runs once. */
async function httpCheck(
  baseUrl: string,
  check: GateCheck & { path: string },
  deadline: number,
): Promise<CheckResult> {
  const url = new URL(check.path, baseUrl).toString();
  for (;;) {
    const status = await httpStatus(url);
    if (typeof status === "number" && statusPasses(check, status)) {
      return { check, ok: true, observed: `answered ${status}` };
    }
    if (check.kind === "smoke" || Date.now() >= deadline) {
      const seen = typeof status === "number" ? `answered ${status}` : `failed: ${status}`;
      return { check, ok: false, observed: `${seen} (${url})` };
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function sqlCheck(
  databaseUrl: string,
  check: GateCheck & { kind: "sql" },
): Promise<CheckResult> {
  const client = new Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const res = await client.query(check.query);
    const rows = res.rowCount ?? res.rows.length;
    return { check, ok: rows >= check.minRows, observed: `returned ${rows} rows` };
  } catch (err) {
    return { check, ok: false, observed: `failed: ${(err as Error).message}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function runGate(inputs: HealthGateInputs): Promise<HealthGateOutputs> {
  const checkedAt = new Date().toISOString();
  if (!inputs.enabled) {
    return { ...inputs, passed: true, checkedAt, results: [] };
  }
  const deadline = Date.now() + inputs.timeoutSeconds * 1000;
  const results: CheckResult[] = [];
  for (const check of gateChecks(inputs)) {
    results.push(
      check.kind === "sql"
        ? await sqlCheck(inputs.databaseUrl, check)
        : await httpCheck(inputs.baseUrl, check, deadline),
    );
  }
  const verdict = gateVerdict(results);
  if (!verdict.passed) {
    throw new Error(verdict.message);
  }
  return { ...inputs, passed: true, checkedAt, results };
}

/** Inputs whose change re-runs the gate; everything is, since each describes what to check. */
function inputsChanged(olds: HealthGateOutputs, news: HealthGateInputs): boolean {
  const keys = Object.keys(news) as (keyof HealthGateInputs)[];
  return keys.some((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
}

export const healthGateHandler: ResourceHandler<HealthGateInputs, HealthGateOutputs> = {
  async create(inputs) {
    return { id: `gate-${Date.now().toString(36)}`, outs: await runGate(inputs) };
  },
  async diff(_id, olds, news) {
    return { changes: inputsChanged(olds, news) };
  },
  async update(_id, _olds, news) {
    return { outs: await runGate(news) };
  },
};
