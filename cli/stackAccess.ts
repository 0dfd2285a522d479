// The CLI's one adapter to a stack: the Automation API (LocalWorkspace + Stack) for the reads
// (history, outputs, config) and for preview and up with their engine events and the policy
// pack; the `pulumi` CLI only for config writes into a given file (the Automation API has no
// option for `--config-file`, `--type` or a secret on stdin). Every decision about what to run
// is made by the pure modules beside this one.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent, LocalWorkspace, OutputMap, Stack } from "@pulumi/pulumi/automation";
import { UserError } from "../domain/errors";
import { brokenStateRefusal } from "../domain/stateAttrs";
import { HistoryEntry, StackConfig, UpdateRecord, toEntries } from "../domain/pins";
import { CliIo } from "./options";
import { PolicyPack } from "./policyPack";
import { projectDir, projectEnvironment } from "./project";
import { describe, newProgressState, plain, renderEvent } from "./progress";
import { StackOutputs } from "./stackHistory";
import { brokenStateFiles, fileBackendDir, removeBrokenStateFiles } from "./stackRecovery";

/** The project the commands act on (cli/project.ts): a team's folder or Rewind's checkout. */
export function defaultProjectDir(env: CliIo["env"]): string {
  return projectDir(env);
}

/** A mandatory policy violation the pack reported during a preview or an update. */
export interface PolicyViolation {
  readonly policy: string;
  /** `Migration hunter-migration`, or the stack. */
  readonly resource: string;
  readonly message: string;
}

/** The outcome of `preview` or `up`: never throws for a failed update, so callers can react. */
export interface EngineOutcome {
  readonly ok: boolean;
  readonly changes: Record<string, number>;
  readonly outputs: StackOutputs;
  readonly events: readonly EngineEvent[];
  /** The engine's error, shortened to what a person needs, when `ok` is false. */
  readonly error?: string;
  /** Mandatory violations: when there is one, the pack refused the change. */
  readonly violations: readonly PolicyViolation[];
  /** The stack was locked by another update: the engine did not start at all. */
  readonly locked: boolean;
}

// A page of the stack's history; the CLI's default page is 10 updates, which would silently
// drop the rest (and renumber what is left), so Rewind asks for pages this big until one is
// short. REWIND_HISTORY_PAGE_SIZE exists so the integration test can cross page boundaries.
function historyPage(): number {
  const n = Number(process.env.REWIND_HISTORY_PAGE_SIZE);
  return Number.isInteger(n) && n > 0 ? n : 1000;
}

/**
 * One stack of the project, and the calls the commands make on it, all through one
 * LocalWorkspace. `Stack.select` selects the stack in the project, as `pulumi stack select`
 * does; every call passes the stack's name, so commands never depend on the selection.
 */
export class StackAccess {
  private selected: Promise<Stack> | undefined;

  private constructor(
    readonly name: string,
    readonly workDir: string,
    private readonly workspace: LocalWorkspace,
    /** Added to the environment of every `pulumi` this session runs (cli/project.ts). */
    readonly environment: Record<string, string>,
    /** The state's broken `.attrs` files that opening removed (`brokenState: "repair"`). */
    readonly repairedStateFiles: readonly string[] = [],
  ) {}

  /**
   * The stack named by --stack / REWIND_STACK, or the selected one. Broken `.attrs` files in
   * the project's file backend (domain/stateAttrs.ts) are refused, or removed with "repair"
   * (rewind recover, release --recover), before any `pulumi` reads the state.
   * @throws UserError when no stack is named or selected, or the named one does not exist, or
   * the state is broken and not to be repaired.
   */
  static async open(
    workDir: string,
    requested: string | undefined,
    brokenState: "refuse" | "repair" = "refuse",
  ): Promise<StackAccess> {
    if (!fs.existsSync(path.join(workDir, "Pulumi.yaml"))) {
      throw new UserError(
        `${workDir} is not a Pulumi project (no Pulumi.yaml); run rewind init there, or ` +
          `run rewind from the project's folder (or set REWIND_PROJECT_DIR)`,
      );
    }
    const repaired = await checkState(workDir, requested, brokenState);
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    const environment = projectEnvironment(workDir, process.env);
    const workspace = await LocalWorkspace.create({ workDir, envVars: environment });
    if (requested !== undefined) {
      return new StackAccess(requested, workDir, workspace, environment, repaired);
    }
    const selected = (await workspace.stack())?.name;
    if (selected === undefined) {
      const names = (await workspace.listStacks()).map((s) => s.name);
      throw new UserError(
        `no stack selected: pass --stack <name> or set REWIND_STACK` +
          (names.length > 0
            ? ` (stacks: ${names.join(", ")})`
            : " (the project has no stacks yet)"),
      );
    }
    // The selected stack's own history and locks, now that it is known.
    repaired.push(...(await checkState(workDir, selected, brokenState)));
    return new StackAccess(selected, workDir, workspace, environment, repaired);
  }

  /** Nothing to put back (kept so commands release what they hold in one place). */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The Automation API's Stack (selected once, on first use). */
  automationStack(): Promise<Stack> {
    this.selected ??= (async () => {
      const { Stack } = await import("@pulumi/pulumi/automation");
      try {
        return await Stack.select(this.name, this.workspace);
      } catch (error) {
        if (error instanceof Error && error.name === "StackNotFoundError") {
          throw new UserError(`no stack named ${JSON.stringify(this.name)} in ${this.workDir}`);
        }
        throw error;
      }
    })();
    return this.selected;
  }

  /** The whole history, oldest first, with each update's config (secrets decrypted). */
  async history(): Promise<HistoryEntry[]> {
    const stack = await this.automationStack();
    const updates: UpdateRecord[] = [];
    const size = historyPage();
    for (let page = 1; ; page++) {
      let batch: UpdateRecord[];
      try {
        batch = ((await stack.history(size, page, true)) ?? []) as UpdateRecord[];
      } catch (error) {
        // Decrypting the history's secrets reads the stack's config file too.
        throw unreadableConfig(this.configFile(), error);
      }
      updates.push(...batch);
      if (batch.length < size) {
        return toEntries(updates);
      }
    }
  }

  /** The stack's outputs as plain values (the contract's appVersion, digest, ...). */
  async outputs(): Promise<StackOutputs> {
    // What Stack.outputs() runs, without waiting for the selection: the reads pass --stack, so
    // they run beside Stack.select and the history read that needs it.
    return plainOutputs(valuesOf(await this.read(() => this.workspace.stackOutputs(this.name))));
  }

  /** The current config with secrets decrypted and structured values parsed (objectValue). */
  async config(): Promise<StackConfig> {
    // Stack.getAllConfig()'s call, as outputs(); `pulumi config --json --show-secrets` as it
    // is, objectValue included.
    try {
      return (await this.read(() => this.workspace.getAllConfig(this.name))) as StackConfig;
    } catch (error) {
      throw unreadableConfig(this.configFile(), error);
    }
  }

  // A failed read of a stack that does not exist says so, as the selection does.
  private async read<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      await this.automationStack();
      throw error;
    }
  }

  /**
   * Runs `pulumi <args>` in the project; `stdin` carries a secret value so it never appears in
   * the process list.
   */
  pulumi(args: readonly string[], stdin?: string): Promise<string> {
    return pulumiCli(this.workDir, args, stdin, this.environment);
  }

  /** The stack's config file: `<project>/<stackConfigDir>/Pulumi.<stack>.yaml`. */
  configFile(): string {
    const project = fs.readFileSync(path.join(this.workDir, "Pulumi.yaml"), "utf8");
    // A top-level scalar; reading it with a regex spares a YAML dependency for one key.
    const match = /^stackConfigDir:[ \t]*["']?([^"'#\n]*?)["']?[ \t]*(#.*)?$/m.exec(project);
    const dir = match?.[1] ? match[1] : ".";
    const short = this.name.split("/").at(-1) ?? this.name;
    return path.resolve(this.workDir, dir, `Pulumi.${short}.yaml`);
  }

  /**
   * Runs `body` with a private copy of the stack's config file (same encryption salt), removed
   * afterwards. `rewind plan` previews a different config in it: the stack's own file is never
   * written, so nothing has to be put back, even if the process is killed mid-preview.
   */
  async withConfigCopy<T>(body: (file: string) => Promise<T>): Promise<T> {
    const real = this.configFile();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-config-"));
    const copy = path.join(dir, path.basename(real));
    try {
      if (fs.existsSync(real)) {
        fs.copyFileSync(real, copy);
      } else {
        fs.writeFileSync(copy, "", { mode: 0o600 });
      }
      fs.chmodSync(copy, 0o600);
      return await body(copy);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** `pulumi preview`, optionally against another config file; events go to `onEvent`. */
  async preview(
    configFile: string | undefined,
    onEvent: (e: EngineEvent) => void,
    policy?: PolicyPack,
  ): Promise<EngineOutcome> {
    return this.recording(onEvent, async (stack, record) => {
      const result = await stack.preview({ configFile, ...policyOptions(policy), onEvent: record });
      return (events) => ({ ...outcome(true, events), changes: counts(result.changeSummary) });
    });
  }

  /** `pulumi up` with a message recorded in the history; the HealthGate runs inside it. */
  async up(
    message: string,
    onEvent: (e: EngineEvent) => void,
    policy?: PolicyPack,
  ): Promise<EngineOutcome> {
    return this.recording(onEvent, async (stack, record) => {
      const result = await stack.up({ message, ...policyOptions(policy), onEvent: record });
      return (events) => ({
        ...outcome(result.summary.result === "succeeded", events),
        changes: counts(result.summary.resourceChanges ?? {}),
        outputs: plainOutputs(valuesOf(result.outputs)),
      });
    });
  }

  /** Runs one engine operation, keeping its events for the outcome and passing each on. */
  private async recording(
    onEvent: (e: EngineEvent) => void,
    run: (
      stack: Stack,
      record: (e: EngineEvent) => void,
    ) => Promise<(events: EngineEvent[]) => EngineOutcome>,
  ): Promise<EngineOutcome> {
    const events: EngineEvent[] = [];
    try {
      const finish = await run(await this.automationStack(), (e) => {
        events.push(e);
        onEvent(e);
      });
      return finish(events);
    } catch (error) {
      return failed(error, events);
    }
  }
}

/**
 * Refuses (UserError) or removes the broken `.attrs` files `stack` reads (domain/stateAttrs.ts);
 * returns those removed.
 */
async function checkState(
  workDir: string,
  stack: string | undefined,
  brokenState: "refuse" | "repair",
): Promise<string[]> {
  const broken = await brokenStateFiles(process.env, workDir, stack);
  if (broken.length > 0 && brokenState === "refuse") {
    const backend = fileBackendDir(process.env, workDir) ?? workDir;
    throw new UserError(brokenStateRefusal(backend, broken, stack));
  }
  return removeBrokenStateFiles(broken);
}

function policyOptions(policy: PolicyPack | undefined): {
  policyPacks?: string[];
  policyPackConfigs?: string[];
} {
  if (policy === undefined) {
    return {};
  }
  return {
    policyPacks: [policy.pack],
    ...(policy.config === undefined ? {} : { policyPackConfigs: [policy.config] }),
  };
}

function outcome(ok: boolean, events: readonly EngineEvent[]): EngineOutcome {
  return { ok, changes: {}, outputs: {}, events, violations: violations(events), locked: false };
}

function failed(error: unknown, events: readonly EngineEvent[]): EngineOutcome {
  const found = violations(events);
  const locked = error instanceof Error && error.name === "ConcurrentUpdateError";
  return {
    ...outcome(false, events),
    locked,
    error:
      found.length > 0
        ? `refused by the policy pack: ${found.map((v) => `${v.policy} on ${v.resource}: ${v.message}`).join(" | ")}`
        : engineError(error, events),
  };
}

/** The mandatory violations among the events, each once. */
function violations(events: readonly EngineEvent[]): PolicyViolation[] {
  const seen = new Map<string, PolicyViolation>();
  for (const e of events) {
    const p = e.policyEvent;
    if (p === undefined || p.enforcementLevel !== "mandatory") continue;
    const resource = p.resourceUrn ? describe(p.resourceUrn) : "the stack";
    const message = plain(p.message)
      .trim()
      .replace(/\s*\n\s*/g, " ");
    seen.set(`${p.policyName} ${resource} ${message}`, {
      policy: p.policyName,
      resource,
      message,
    });
  }
  return [...seen.values()];
}

function counts(map: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, v ?? 0]));
}

/** The contract's outputs from `{ name: value }` (the CLI's JSON, or an OutputMap's values). */
function plainOutputs(values: Record<string, unknown>): StackOutputs {
  const text = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  const snapshot = values.snapshotId;
  return {
    appVersion: text("appVersion"),
    digest: text("digest"),
    revision: text("revision"),
    snapshotId: typeof snapshot === "string" ? snapshot : snapshot === null ? null : undefined,
    url: text("url"),
    decision: text("decision"),
    direction: text("direction"),
    reason: text("reason"),
  };
}

function valuesOf(outputs: OutputMap): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
}

// Pulumi's words for a stack file it cannot parse ("expected project to be an object, was
// '[]interface {}'" for a list) name neither the file nor the fix.
const MALFORMED_CONFIG = /expected .* to be an object|yaml:|unmarshal/;

/** A stack's config file that is not a YAML map is the user's to fix: named as such. */
function unreadableConfig(file: string, error: unknown): unknown {
  const said = error instanceof Error ? plain(error.message) : "";
  const words = MALFORMED_CONFIG.exec(said);
  if (words === null || !fs.existsSync(file)) {
    return error;
  }
  const line = said.slice(said.lastIndexOf("\n", words.index) + 1).split("\n")[0];
  return new UserError(
    `the stack's config file ${file} cannot be read (${line.replace(/^error: /, "").trim()}); ` +
      `allowed: a YAML map with encryptionsalt: and config:, one key per line, as ` +
      `pulumi config set writes it`,
    { cause: error },
  );
}

/**
 * Runs the `pulumi` on PATH (scripts/env.sh puts the project's build first) in `cwd`.
 * @throws UserError when the stack does not exist; Error with the CLI's stderr otherwise.
 */
export async function pulumiCli(
  cwd: string,
  args: readonly string[],
  stdin?: string,
  environment: Record<string, string> = {},
): Promise<string> {
  // Global flags go first: anything after a "--" would be taken as a value.
  const child = spawn("pulumi", ["--non-interactive", ...args], {
    cwd,
    env: { ...process.env, ...environment, PULUMI_SKIP_UPDATE_CHECK: "true" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.on("error", () => undefined);
  child.stdin.end(stdin ?? "");
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", (error) =>
      reject(new Error(`cannot run pulumi (${error.message}); source scripts/env.sh first`)),
    );
    child.on("close", resolve);
  });
  if (code !== 0) {
    const said = plain(stderr).trim();
    const missing = /no stack named '([^']+)' found/.exec(said);
    if (missing !== null) {
      throw new UserError(`no stack named ${JSON.stringify(missing[1])} in ${cwd}`);
    }
    throw new Error(
      `pulumi ${args.slice(0, 2).join(" ")} failed: ${said || `exit ${String(code)}`}`,
    );
  }
  return stdout;
}

// The engine's own error diagnostics say what failed; the CommandError's message is the whole
// CLI transcript. A concurrent update is named, since the fix is to wait.
function engineError(error: unknown, events: readonly EngineEvent[]): string {
  if (error instanceof Error && error.name === "ConcurrentUpdateError") {
    return "another update of this stack is in progress; wait for it to finish";
  }
  const diagnostics = events
    .map((e) => e.diagnosticEvent)
    .filter((d) => d?.severity === "error")
    .map((d) => plain(d?.message ?? "").trim())
    .filter((m) => m !== "" && !/^update failed$/.test(m));
  if (diagnostics.length > 0) {
    return diagnostics
      .join(" | ")
      .replace(/\s*\n\s*/g, " ")
      .slice(0, 1000);
  }
  const message = error instanceof Error ? plain(error.message) : String(error);
  const stderr = /stderr: ([\s\S]*)$/.exec(message)?.[1] ?? message;
  return stderr.trim().split("\n").filter(Boolean).slice(-3).join(" ").slice(0, 1000);
}

/** An onEvent handler that prints one progress line per interesting event to stderr. */
export function progressPrinter(io: CliIo, quiet: boolean): (e: EngineEvent) => void {
  if (quiet) {
    return () => undefined;
  }
  const state = newProgressState();
  const start = Date.now();
  return (event) => {
    const line = renderEvent(event, Date.now(), start, state);
    if (line !== undefined) {
      io.stderr(`${line}\n`);
    }
  };
}
