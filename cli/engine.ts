// The CLI's one adapter to Pulumi: the Automation API (LocalWorkspace + Stack) for history,
// outputs, config, preview and up, and the same CLI binary for the config writes the API has
// no options for (`--config-file`, `--type`). Every decision about what to run is made by the
// pure modules beside this one.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  ConcurrentUpdateError,
  EngineEvent,
  LocalWorkspace,
  OutputMap,
  Stack,
} from "@pulumi/pulumi/automation";
import { UserError } from "../components/errors";
import { CliIo } from "./options";
import { newProgressState, plain, renderEvent } from "./progress";
import { HistoryEntry, StackConfig, StackOutputs, UpdateRecord, toEntries } from "./updates";

/** The Rewind project: the repository this CLI is built from (dist/cli/ → ../..). */
export function defaultProjectDir(env: CliIo["env"]): string {
  return env.REWIND_PROJECT_DIR || path.resolve(__dirname, "..", "..");
}

/** The outcome of `preview` or `up`: never throws for a failed update, so callers can react. */
export interface EngineOutcome {
  readonly ok: boolean;
  readonly changes: Record<string, number>;
  readonly outputs: StackOutputs;
  readonly events: readonly EngineEvent[];
  /** The engine's error, shortened to what a person needs, when `ok` is false. */
  readonly error?: string;
}

/** One selected stack of the project, and the calls the commands make on it. */
export class StackSession {
  private constructor(
    readonly name: string,
    readonly stack: Stack,
    private readonly workspace: LocalWorkspace,
    private readonly previouslySelected: string | undefined,
  ) {}

  /**
   * Selects the stack named by --stack / REWIND_STACK, or the selected one.
   * @throws UserError when no stack is named or selected, or the name does not exist.
   */
  static async open(workDir: string, requested: string | undefined): Promise<StackSession> {
    const workspace = await LocalWorkspace.create({ workDir });
    const stacks = await workspace.listStacks();
    const selected = stacks.find((s) => s.current)?.name;
    const name = requested ?? selected;
    const names = stacks.map((s) => s.name);
    if (name === undefined) {
      throw new UserError(
        `no stack selected: pass --stack <name> or set REWIND_STACK` +
          (names.length > 0
            ? ` (stacks: ${names.join(", ")})`
            : " (the project has no stacks yet)"),
      );
    }
    if (!names.includes(name)) {
      throw new UserError(
        `no stack named ${JSON.stringify(name)} in ${workDir}` +
          (names.length > 0 ? `; stacks: ${names.join(", ")}` : "; the project has no stacks yet"),
      );
    }
    const stack = await Stack.select(name, workspace);
    return new StackSession(name, stack, workspace, selected);
  }

  /**
   * Puts the user's own stack selection back: Stack.select runs `pulumi stack select`, and a
   * `rewind history --stack prod` should not change which stack a later `pulumi up` targets.
   */
  async close(): Promise<void> {
    if (this.previouslySelected !== undefined && this.previouslySelected !== this.name) {
      await this.workspace.selectStack(this.previouslySelected);
    }
  }

  get workDir(): string {
    return this.workspace.workDir;
  }

  /** The whole history, oldest first, in one CLI call (config included, secrets decrypted). */
  async history(): Promise<HistoryEntry[]> {
    const updates = await this.stack.history(undefined, undefined, true);
    return toEntries(updates as unknown as UpdateRecord[]);
  }

  /** The stack's outputs as plain values (the contract's appVersion, digest, ...). */
  async outputs(): Promise<StackOutputs> {
    return plainOutputs(await this.stack.outputs());
  }

  /** The current config with secrets decrypted and structured values parsed. */
  async config(): Promise<StackConfig> {
    // getAllConfig returns the CLI's JSON as is, objectValue included (the type omits it).
    return (await this.stack.getAllConfig()) as unknown as StackConfig;
  }

  /**
   * Runs `pulumi <args>` in the project, for the config writes the Automation API cannot
   * express; `stdin` carries a secret value so it never appears in the process list.
   */
  async pulumi(args: readonly string[], stdin?: string): Promise<string> {
    const env = { ...process.env };
    if (this.workspace.pulumiHome !== undefined) {
      env.PULUMI_HOME = this.workspace.pulumiHome;
    }
    // Global flags go first: anything after a "--" would be taken as a value.
    const child = spawn(this.workspace.pulumiCommand.command, ["--non-interactive", ...args], {
      cwd: this.workDir,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(stdin ?? "");
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", resolve);
    });
    if (code !== 0) {
      throw new Error(
        `pulumi ${args.slice(0, 2).join(" ")} failed: ${plain(stderr).trim() || `exit ${String(code)}`}`,
      );
    }
    return stdout;
  }

  /** The stack's config file: `<project>/<stackConfigDir>/Pulumi.<stack>.yaml`. */
  async configFile(): Promise<string> {
    const settings = (await this.workspace.projectSettings()) as unknown as Record<string, unknown>;
    const dir = typeof settings.stackConfigDir === "string" ? settings.stackConfigDir : ".";
    const short = this.name.split("/").at(-1) ?? this.name;
    return path.resolve(this.workDir, dir, `Pulumi.${short}.yaml`);
  }

  /**
   * Runs `body` with a private copy of the stack's config file (same encryption salt), removed
   * afterwards. `rewind plan` previews a different config in it: the stack's own file is never
   * written, so nothing has to be put back, even if the process is killed mid-preview.
   */
  async withConfigCopy<T>(body: (file: string) => Promise<T>): Promise<T> {
    const real = await this.configFile();
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
  ): Promise<EngineOutcome> {
    const events: EngineEvent[] = [];
    try {
      const result = await this.stack.preview({
        configFile,
        onEvent: (e) => {
          events.push(e);
          onEvent(e);
        },
      });
      return { ok: true, changes: counts(result.changeSummary), outputs: {}, events };
    } catch (error) {
      return { ok: false, changes: {}, outputs: {}, events, error: engineError(error, events) };
    }
  }

  /** `pulumi up` with a message recorded in the history; the HealthGate runs inside it. */
  async up(message: string, onEvent: (e: EngineEvent) => void): Promise<EngineOutcome> {
    const events: EngineEvent[] = [];
    try {
      const result = await this.stack.up({
        message,
        onEvent: (e) => {
          events.push(e);
          onEvent(e);
        },
      });
      return {
        ok: result.summary.result === "succeeded",
        changes: counts(result.summary.resourceChanges ?? {}),
        outputs: plainOutputs(result.outputs),
        events,
      };
    } catch (error) {
      return { ok: false, changes: {}, outputs: {}, events, error: engineError(error, events) };
    }
  }
}

function counts(map: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, v ?? 0]));
}

function plainOutputs(outputs: OutputMap): StackOutputs {
  const value = (k: string): unknown => outputs[k]?.value;
  const text = (k: string) => (typeof value(k) === "string" ? (value(k) as string) : undefined);
  const snapshot = value("snapshotId");
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

// The engine's own error diagnostics say what failed; the CommandError's message is the whole
// CLI transcript. A concurrent update is named, since the fix is to wait.
function engineError(error: unknown, events: readonly EngineEvent[]): string {
  if (error instanceof ConcurrentUpdateError) {
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
