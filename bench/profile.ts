// Where the time of one `pulumi up` goes: the engine's event log (`--event-log`), read while the
// update runs and stamped on arrival (the events' own timestamps are whole seconds), cut into
// phases. Used on the timed runs themselves, so the profile is of a measured run.
import * as fs from "node:fs";

/** One resource step: from its resourcePreEvent to its resOutputsEvent (or failure). */
export interface StepTime {
  readonly type: string;
  readonly name: string;
  readonly op: string;
  readonly ms: number;
}

/** The phases of one update, in ms from the start of the `pulumi` process. */
export interface UpPhases {
  /** CLI start, project and state load, secrets: up to the engine's preludeEvent. */
  readonly toPrelude: number;
  /** Language host and program start, the program's own reads, up to the first step. */
  readonly toFirstStep: number;
  /** From the first step's start to the last step's end (steps may overlap). */
  readonly steps: number;
  /** From the last step's end to the summaryEvent: the program's exit, engine finish. */
  readonly toSummary: number;
  /** From the summaryEvent to the process's exit: state write, plugin shutdown. */
  readonly toExit: number;
  readonly total: number;
  /** The slowest steps of custom resources, slowest first. */
  readonly slowest: readonly StepTime[];
  /** The CLI's own trace of the run, when it wrote one. */
  readonly trace?: TraceSummary;
}

/** A step's metadata; `new`/`old` say whether the resource is custom (not a component). */
interface StepMetadata {
  urn: string;
  type: string;
  op: string;
  new?: { custom?: boolean };
  old?: { custom?: boolean };
}

interface EngineEvent {
  preludeEvent?: unknown;
  summaryEvent?: unknown;
  resourcePreEvent?: { metadata: StepMetadata };
  resOutputsEvent?: { metadata: { urn: string; type: string; op: string } };
  resOpFailedEvent?: { metadata: { urn: string; type: string; op: string } };
}

/** Reads `file` as it grows, every 10 ms, stamping each complete line with its arrival time. */
export class EventLogTail {
  private offset = 0;
  private rest = "";
  private readonly timer: NodeJS.Timeout;
  readonly lines: { at: number; event: EngineEvent }[] = [];

  constructor(
    private readonly file: string,
    private readonly started: number,
  ) {
    this.timer = setInterval(() => this.poll(), 10);
  }

  private poll(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, "r");
    } catch {
      return; // not created yet
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= this.offset) return;
      const buffer = Buffer.alloc(size - this.offset);
      fs.readSync(fd, buffer, 0, buffer.length, this.offset);
      this.offset = size;
      const at = performance.now() - this.started;
      const text = this.rest + buffer.toString("utf8");
      const parts = text.split("\n");
      this.rest = parts.pop() ?? "";
      for (const line of parts) {
        if (line.trim() !== "") this.lines.push({ at, event: JSON.parse(line) as EngineEvent });
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Stops polling after a last read. */
  stop(): void {
    clearInterval(this.timer);
    this.poll();
  }
}

/** Cuts a finished update's events into {@link UpPhases}; `total` is the process's wall time. */
export function phases(lines: EventLogTail["lines"], total: number): UpPhases {
  const at = (pick: (e: EngineEvent) => unknown) =>
    lines.find((l) => pick(l.event) !== undefined)?.at;
  const prelude = at((e) => e.preludeEvent) ?? 0;
  const summary = at((e) => e.summaryEvent) ?? total;
  const open = new Map<string, { at: number; type: string; op: string; custom: boolean }>();
  const done: (StepTime & { custom: boolean })[] = [];
  let first = Infinity;
  let last = prelude;
  for (const { at: t, event } of lines) {
    const pre = event.resourcePreEvent?.metadata;
    if (pre !== undefined) {
      // Custom resources: the dynamic ones (before issue 9) or the plugin's rewind:index:* ones;
      // not the stack, the default providers or a component (whose span covers its children's).
      const custom = (pre.new ?? pre.old)?.custom === true && !pre.type.startsWith("pulumi:");
      open.set(pre.urn, { at: t, type: pre.type, op: pre.op, custom });
      first = Math.min(first, t);
    }
    const end = (event.resOutputsEvent ?? event.resOpFailedEvent)?.metadata;
    if (end !== undefined) {
      const start = open.get(end.urn);
      if (start !== undefined) {
        done.push({
          custom: start.custom,
          type: start.type,
          name: end.urn.slice(end.urn.lastIndexOf("::") + 2),
          op: start.op,
          ms: t - start.at,
        });
      }
      last = Math.max(last, t);
    }
  }
  if (first === Infinity) first = prelude;
  return {
    toPrelude: prelude,
    toFirstStep: first - prelude,
    steps: last - first,
    toSummary: summary - last,
    toExit: total - summary,
    total,
    slowest: done
      .filter((d) => d.custom)
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 4)
      .map(({ type, name, op, ms }) => ({ type, name, op, ms })),
  };
}

/** One line for the notes: the phases in seconds and the slowest steps. */
export function describePhases(p: UpPhases): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const steps = p.slowest
    .filter((x) => x.ms >= 100)
    .map((x) => `${x.name} (${x.type.split(":").at(-1)}, ${x.op}) ${s(x.ms)}`)
    .join(", ");
  return (
    `CLI and state load ${s(p.toPrelude)}, program start and its reads ${s(p.toFirstStep)}, ` +
    `resource steps ${s(p.steps)}${steps === "" ? "" : ` (slowest: ${steps})`}, program exit ` +
    `and engine finish ${s(p.toSummary)}, state write and shutdown ${s(p.toExit)}; total ` +
    `${s(p.total)}${p.trace === undefined ? "" : `; ${describeTrace(p.trace)}`}`
  );
}

/** What the CLI's OpenTelemetry trace (`--otel-traces file://…`) says about one update. */
export interface TraceSummary {
  /** The `pulumi` span: the whole command. */
  readonly total: number;
  /** From the command's start to the engine's `pulumi-plan` span: CLI, project, state, secrets. */
  readonly beforeEngine: number;
  /** The `run-program` span: the language host running the program, start to exit. */
  readonly program: number;
  /** From the engine's end to the command's end: the last state write, plugin shutdown. */
  readonly afterEngine: number;
  /**
   * `newPlugin` spans by plugin name (`language`, or the resource provider's: pulumi-nodejs for
   * the dynamic provider, rewind for the plugin), summed: starting them.
   */
  readonly pluginStart: Readonly<Record<string, number>>;
  /** Provider calls by method (Check, Diff, Create, Update, Read, ...): calls and summed ms. */
  readonly providerCalls: Readonly<Record<string, { calls: number; ms: number }>>;
}

interface OtelSpan {
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: { key: string; value: { stringValue?: string } }[];
}

/** Reads the JSON lines of an OTLP file export into a {@link TraceSummary}. */
export function summarizeTrace(file: string): TraceSummary | undefined {
  if (!fs.existsSync(file)) return undefined;
  const spans: OtelSpan[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const batch = JSON.parse(line) as {
      resourceSpans?: { scopeSpans?: { spans?: OtelSpan[] }[] }[];
    };
    for (const rs of batch.resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
    }
  }
  const ms = (ns: string) => Number(BigInt(ns) / 1000n) / 1000;
  const one = (name: string) => spans.find((s) => s.name === name);
  const root = one("pulumi");
  const plan = one("pulumi-plan");
  const program = one("run-program");
  if (root === undefined || plan === undefined) return undefined;
  const pluginStart: Record<string, number> = {};
  const providerCalls: Record<string, { calls: number; ms: number }> = {};
  for (const s of spans) {
    const d = ms(s.endTimeUnixNano) - ms(s.startTimeUnixNano);
    if (s.name === "newPlugin") {
      const kind = s.attributes?.find((a) => a.key === "kind")?.value.stringValue ?? "?";
      pluginStart[kind] = (pluginStart[kind] ?? 0) + d;
    } else if (s.name.startsWith("pulumirpc.ResourceProvider/")) {
      const method = s.name.slice("pulumirpc.ResourceProvider/".length);
      const entry = (providerCalls[method] ??= { calls: 0, ms: 0 });
      entry.calls++;
      entry.ms += d;
    }
  }
  return {
    total: ms(root.endTimeUnixNano) - ms(root.startTimeUnixNano),
    beforeEngine: ms(plan.startTimeUnixNano) - ms(root.startTimeUnixNano),
    program:
      program === undefined ? 0 : ms(program.endTimeUnixNano) - ms(program.startTimeUnixNano),
    afterEngine: ms(root.endTimeUnixNano) - ms(plan.endTimeUnixNano),
    pluginStart,
    providerCalls,
  };
}

/** One sentence of the trace: plugin starts and the provider calls that took 100 ms or more. */
export function describeTrace(t: TraceSummary): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const plugins = Object.entries(t.pluginStart)
    .map(([kind, ms]) => `${kind === "language" ? "language host" : `${kind} plugins`} ${s(ms)}`)
    .join(", ");
  const calls = Object.entries(t.providerCalls)
    .filter(([, c]) => c.ms >= 100)
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([method, c]) => `${method} ${c.calls}x ${s(c.ms)}`)
    .join(", ");
  return (
    `trace: plugin start ${plugins || "none"}; provider calls (summed, they overlap) ` +
    `${calls || "all under 0.1 s"}; the program ran ${s(t.program)} of ${s(t.total)}`
  );
}
