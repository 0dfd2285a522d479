// Runs a HealthGate's checks against the real app and database. A failed check throws, which
// fails the `pulumi up`: that failure is what `rewind release` rolls back on.
import * as net from "node:net";
import { ResourceHandler } from "./resourceHandler";
import { Client } from "pg";
import { CommandFailed, runCommandStep } from "../adapters/commandContainer";
import {
  CheckResult,
  GateCheck,
  gateChecks,
  gateVerdict,
  smokeProblem,
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
  /** Dependencies that must accept a TCP connection. Absent in older states. */
  tcp?: { name: string; host: string; port: number }[];
  /** Dependency commands, run in a container of `image`. Absent in older states. */
  command?: { name: string; command: string[] }[];
  /** `repo@sha256:…` the dependency commands run in. */
  image?: string;
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

/** One smoke request, timed from the request to the end of its body. */
async function smokeCheck(
  baseUrl: string,
  check: GateCheck & { kind: "smoke" },
): Promise<CheckResult> {
  const url = new URL(check.path, baseUrl).toString();
  const started = performance.now();
  const status = await httpStatus(url);
  const ms = performance.now() - started;
  if (typeof status !== "number") {
    return { check, ok: false, observed: `failed: ${status} (${url})` };
  }
  const problem = smokeProblem(check, status, ms);
  return problem === undefined
    ? { check, ok: true, observed: `answered ${status} in ${Math.round(ms)} ms` }
    : { check, ok: false, observed: `${problem} (${url})` };
}

function tcpConnect(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: REQUEST_TIMEOUT_MS });
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.once("connect", () => done(undefined));
    socket.once("timeout", () => done("timed out"));
    socket.once("error", (err) => done(err.message));
  });
}

/** A dependency's port, retried until the deadline (it may be starting too). */
async function tcpCheck(
  check: GateCheck & { kind: "tcp" },
  deadline: number,
): Promise<CheckResult> {
  for (;;) {
    const problem = await tcpConnect(check.host, check.port);
    if (problem === undefined) return { check, ok: true, observed: "accepted a connection" };
    if (Date.now() >= deadline) return { check, ok: false, observed: `failed: ${problem}` };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** A dependency command, once, in a fresh container of the app's image. */
async function commandCheck(
  check: GateCheck & { kind: "command" },
  image: string | undefined,
): Promise<CheckResult> {
  if (image === undefined || image === "") {
    return { check, ok: false, observed: "failed: no app image to run the command in" };
  }
  try {
    await runCommandStep({
      image,
      argv: check.command,
      env: {},
      what: `gate dependency ${check.name}`,
    });
    return { check, ok: true, observed: "exited 0" };
  } catch (err) {
    const observed =
      err instanceof CommandFailed
        ? `exited ${err.exitCode}${err.output === "" ? "" : `: ${err.output.split("\n").slice(-3).join(" ")}`}`
        : `failed: ${(err as Error).message}`;
    return { check, ok: false, observed };
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
    if (Date.now() >= deadline) {
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

function runCheck(
  inputs: HealthGateInputs,
  check: GateCheck,
  deadline: number,
): Promise<CheckResult> {
  switch (check.kind) {
    case "sql":
      return sqlCheck(inputs.databaseUrl, check);
    case "smoke":
      return smokeCheck(inputs.baseUrl, check);
    case "tcp":
      return tcpCheck(check, deadline);
    case "command":
      return commandCheck(check, inputs.image);
    case "startup":
    case "live":
    case "ready":
      return httpCheck(inputs.baseUrl, check, deadline);
    default: {
      const unexpected: never = check;
      throw new Error(`unknown gate check ${JSON.stringify(unexpected)}`);
    }
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
    results.push(await runCheck(inputs, check, deadline));
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
