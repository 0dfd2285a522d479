// Live progress while the engine works: one line per engine event worth a person's attention,
// and what a failed update's events say about its cause. Pure: the Automation API's onEvent
// feeds these functions, the command writes the lines to stderr.
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { FailureCause } from "../domain/rollbackPlan";

/** What the renderer remembers between events: when each resource's step began. */
export interface ProgressState {
  readonly startedAt: Map<string, number>;
}

export function newProgressState(): ProgressState {
  return { startedAt: new Map() };
}

// Past tense of each step op, for the line written when the step finishes.
const DONE: Record<string, string> = {
  create: "created",
  update: "updated",
  delete: "deleted",
  replace: "replaced",
  "create-replacement": "created",
  "delete-replaced": "deleted",
  read: "read",
  "read-replacement": "read",
  refresh: "refreshed",
  "discard-replaced": "discarded",
  import: "imported",
  "import-replacement": "imported",
  "remove-pending-replace": "removed",
};

/**
 * Renders one engine event as one line, or undefined for events that are noise (unchanged
 * resources, the stack itself, provider plumbing, stdout echoes).
 * @param now When the event arrived (ms); the engine's own timestamps are whole seconds.
 * @param start When the operation began (ms); lines show the time elapsed since.
 */
export function renderEvent(
  event: EngineEvent,
  now: number,
  start: number,
  state: ProgressState,
): string | undefined {
  const at = `[${elapsed(now - start).padStart(6)}]`;
  if (event.resourcePreEvent) {
    const { op, urn, type } = event.resourcePreEvent.metadata;
    if (!interesting(op, type)) {
      return undefined;
    }
    state.startedAt.set(urn, now);
    return `${at} ${op.padEnd(9)} ${describe(urn, type)}`;
  }
  if (event.resOutputsEvent) {
    const { op, urn, type } = event.resOutputsEvent.metadata;
    if (!interesting(op, type)) {
      return undefined;
    }
    const began = state.startedAt.get(urn);
    const took = began === undefined ? "" : ` (${elapsed(now - began)})`;
    return `${at} ${(DONE[op] ?? op).padEnd(9)} ${describe(urn, type)}${took}`;
  }
  if (event.resOpFailedEvent) {
    const { op, urn, type } = event.resOpFailedEvent.metadata;
    const began = state.startedAt.get(urn);
    const took = began === undefined ? "" : ` after ${elapsed(now - began)}`;
    return `${at} ${"failed".padEnd(9)} ${describe(urn, type)} (${op}${took})`;
  }
  if (event.diagnosticEvent) {
    const { severity, message, urn, ephemeral } = event.diagnosticEvent;
    // The engine also streams its own debug chatter ("Registering resource ...") as
    // diagnostics, with a severity its types do not list.
    if (ephemeral || !["info", "warning", "error"].includes(severity)) {
      return undefined;
    }
    const text = firstLines(plain(message));
    if (text === "") {
      return undefined;
    }
    const who =
      urn === undefined || typeOf(urn) === "pulumi:pulumi:Stack" ? "" : `${describe(urn)}: `;
    return `${at} ${severity.padEnd(9)} ${who}${text}`;
  }
  if (event.policyEvent) {
    const p = event.policyEvent;
    return `${at} ${"policy".padEnd(9)} ${p.policyPackName}/${p.policyName} (${p.enforcementLevel}): ${firstLines(plain(p.message))}`;
  }
  if (event.summaryEvent) {
    const changes = Object.entries(event.summaryEvent.resourceChanges ?? {})
      .filter(([, n]) => (n ?? 0) > 0)
      .map(([op, n]) => `${n} ${op === "same" ? "unchanged" : (DONE[op] ?? op)}`);
    return `${at} ${"done".padEnd(9)} ${changes.join(", ") || "no changes"}`;
  }
  return undefined;
}

function interesting(op: string, type: string): boolean {
  return op !== "same" && type !== "pulumi:pulumi:Stack" && !type.startsWith("pulumi:providers:");
}

/** `HealthGate hunter-gate` from a URN and type token. */
export function describe(urn: string, type?: string): string {
  return `${shortType(type ?? typeOf(urn))} ${nameOf(urn)}`;
}

/** The resource's own type from its URN (`urn:pulumi:s::p::a$b::name` → `b`). */
export function typeOf(urn: string): string {
  const parts = urn.split("::");
  return (parts[2] ?? "").split("$").at(-1) ?? "";
}

export function nameOf(urn: string): string {
  return urn.split("::").slice(3).join("::");
}

/** `pulumi-nodejs:dynamic/rewind:HealthGate` → `HealthGate`, `rewind:app:AppService` → `AppService`. */
export function shortType(type: string): string {
  return type.split(/[:/]/).at(-1) ?? type;
}

/** `0.4s`, `12.3s`, `2m05s`. */
export function elapsed(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) {
    return `${s.toFixed(1)}s`;
  }
  const whole = Math.floor(s);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
}

/** Strips ANSI escapes and Pulumi's `<{%fg 1%}>` colour directives. */
export function plain(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, "").replace(/<\{%[^%]*%\}>/g, "");
}

// A diagnostic can be a page long (a stack trace); progress shows its gist on one line.
function firstLines(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const gist = lines.slice(0, 2).join(" — ");
  return gist.length > 240 ? `${gist.slice(0, 239)}…` : gist;
}

// Matched on the type's last segment: `pulumi-nodejs:dynamic/rewind:HealthGate` for the dynamic
// resources (docs/architecture.md), whatever a component around them is called.
const GATE = /^HealthGate$/;
const MIGRATION = /^Migration$/;
// The app's own health-gated switch (start the new version, wait until ready) fails before the
// HealthGate runs; the runbook counts that as "health checks failing after deployment" too.
const APP = /^(DockerDeployment|AppService|Deployment)$/;
const PROBE = /\b(ready|readiness|live|liveness|health)/i;

/** Reads the cause of a failure from the events of the failed update. */
export function classifyFailure(events: readonly EngineEvent[]): FailureCause {
  const failed = new Map<string, string>();
  const said = new Map<string, string[]>();
  let firstError: string | undefined;
  for (const event of events) {
    if (event.resOpFailedEvent) {
      const { urn, type } = event.resOpFailedEvent.metadata;
      failed.set(urn, shortType(type));
    }
    const diag = event.diagnosticEvent;
    if (diag?.severity === "error") {
      const text = firstLines(plain(diag.message));
      if (firstError === undefined && text !== "") {
        firstError = text;
      }
      // A failed step reports its error as a diagnostic on the resource, sometimes without a
      // resOpFailed event (the engine stops the update first).
      if (diag.urn !== undefined && typeOf(diag.urn) !== "pulumi:pulumi:Stack") {
        failed.set(diag.urn, shortType(typeOf(diag.urn)));
        said.set(diag.urn, [...(said.get(diag.urn) ?? []), plain(diag.message)]);
      }
    }
  }
  // The failed migration's whole error: its last lines are the tool's own (a traceback's end).
  const migrationError = [...said]
    .filter(([urn]) => MIGRATION.test(shortType(typeOf(urn))))
    .map(([, messages]) => messages[0]?.trim())
    .find((m) => m !== undefined && m !== "");
  const gateFailed = [...failed].some(
    ([urn, type]) =>
      GATE.test(type) || (APP.test(type) && (said.get(urn) ?? []).some((m) => PROBE.test(m))),
  );
  return {
    gateFailed,
    migrationFailed: [...failed.values()].some((t) => MIGRATION.test(t)),
    failedResources: [...failed.keys()].map((urn) => describe(urn, failed.get(urn))),
    firstError,
    ...(migrationError === undefined ? {} : { migrationError }),
  };
}
