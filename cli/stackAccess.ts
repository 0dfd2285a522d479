// The CLI's one adapter to Pulumi: the `pulumi` CLI for reads and config writes (one call each,
// with --stack; the Automation API has no option for `--config-file`, `--type` or a secret on
// stdin), the Automation API (LocalWorkspace + Stack) for preview and up with their engine
// events. Every decision about what to run is made by the pure modules beside this one.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent, LocalWorkspace, OutputMap, Stack } from "@pulumi/pulumi/automation";
import { UserError } from "../domain/errors";
import { CliIo } from "./options";
import { newProgressState, plain, renderEvent } from "./progress";
import { HistoryEntry, StackConfig, UpdateRecord, toEntries } from "../domain/pins";
import { StackOutputs } from "./stackHistory";

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

/** The Automation API's objects, created only when the engine must run (preview, up). */
interface Automation {
  readonly stack: Stack;
  readonly workspace: LocalWorkspace;
}

// A page of `pulumi stack history`; the CLI's default page is 10 updates, which would silently
// drop the rest (and renumber what is left), so Rewind asks for pages this big until one is
// short. REWIND_HISTORY_PAGE_SIZE exists so the integration test can cross page boundaries.
function historyPage(): number {
  const n = Number(process.env.REWIND_HISTORY_PAGE_SIZE);
  return Number.isInteger(n) && n > 0 ? n : 1000;
}

/**
 * One stack of the project, and the calls the commands make on it. Reads (history, outputs,
 * config) are single `pulumi` CLI calls with `--stack`: they neither load the Automation API
 * (over a second of startup) nor select the stack. The Automation API runs preview and up, with
 * their engine events.
 */
export class StackAccess {
  private automation: Promise<Automation> | undefined;

  private constructor(
    readonly name: string,
    readonly workDir: string,
  ) {}

  /**
   * The stack named by --stack / REWIND_STACK, or the selected one.
   * @throws UserError when no stack is named or selected; a named stack that does not exist
   * fails at its first call, with the CLI's "no stack named" turned into a UserError.
   */
  static async open(workDir: string, requested: string | undefined): Promise<StackAccess> {
    if (!fs.existsSync(path.join(workDir, "Pulumi.yaml"))) {
      throw new UserError(
        `${workDir} is not a Pulumi project (no Pulumi.yaml); set REWIND_PROJECT_DIR`,
      );
    }
    if (requested !== undefined) {
      return new StackAccess(requested, workDir);
    }
    const stacks = JSON.parse(await pulumiCli(workDir, ["stack", "ls", "--json"])) as {
      name: string;
      current: boolean;
    }[];
    const selected = stacks.find((s) => s.current)?.name;
    if (selected === undefined) {
      const names = stacks.map((s) => s.name);
      throw new UserError(
        `no stack selected: pass --stack <name> or set REWIND_STACK` +
          (names.length > 0
            ? ` (stacks: ${names.join(", ")})`
            : " (the project has no stacks yet)"),
      );
    }
    return new StackAccess(selected, workDir);
  }

  /**
   * Nothing to put back: the session never selects a stack (see engine()). Kept so commands
   * release what a session holds in one place.
   */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private engine(): Promise<Automation> {
    this.automation ??= (async () => {
      const { LocalWorkspace, Stack } = await import("@pulumi/pulumi/automation");
      const workspace = await LocalWorkspace.create({ workDir: this.workDir });
      // Stack.select runs `pulumi stack select`, which writes the project's selected stack, a
      // file every shell and process in the checkout shares: a `rewind rollback --stack prod`
      // would change which stack a later `pulumi up` targets, and a concurrent command or test
      // that put back "its" selection failed once that stack was removed. Preview and up pass
      // --stack themselves, so the session only checks that the stack exists.
      workspace.selectStack = async (name: string) => {
        await pulumiCli(this.workDir, ["stack", "--show-name", "--stack", name]);
      };
      const stack = await Stack.select(this.name, workspace);
      return { stack, workspace };
    })();
    return this.automation;
  }

  /** The whole history, oldest first, with each update's config (secrets decrypted). */
  async history(): Promise<HistoryEntry[]> {
    const updates: UpdateRecord[] = [];
    const size = historyPage();
    for (let page = 1; ; page++) {
      const text = await this.pulumi([
        "stack",
        "history",
        "--json",
        "--show-secrets",
        "--stack",
        this.name,
        "--page-size",
        String(size),
        "--page",
        String(page),
      ]);
      const batch = JSON.parse(text, (key, value: unknown) =>
        (key === "startTime" || key === "endTime") && typeof value === "string"
          ? new Date(value)
          : value,
      ) as UpdateRecord[] | null;
      updates.push(...(batch ?? []));
      if ((batch ?? []).length < size) {
        return toEntries(updates);
      }
    }
  }

  /** The stack's outputs as plain values (the contract's appVersion, digest, ...). */
  async outputs(): Promise<StackOutputs> {
    const text = await this.pulumi([
      "stack",
      "output",
      "--json",
      "--show-secrets",
      "--stack",
      this.name,
    ]);
    return plainOutputs(JSON.parse(text) as Record<string, unknown>);
  }

  /** The current config with secrets decrypted and structured values parsed (objectValue). */
  async config(): Promise<StackConfig> {
    const text = await this.pulumi(["config", "--json", "--show-secrets", "--stack", this.name]);
    return JSON.parse(text) as StackConfig;
  }

  /**
   * Runs `pulumi <args>` in the project; `stdin` carries a secret value so it never appears in
   * the process list.
   */
  pulumi(args: readonly string[], stdin?: string): Promise<string> {
    return pulumiCli(this.workDir, args, stdin);
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
  ): Promise<EngineOutcome> {
    const events: EngineEvent[] = [];
    try {
      const { stack } = await this.engine();
      const result = await stack.preview({
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
      const { stack } = await this.engine();
      const result = await stack.up({
        message,
        onEvent: (e) => {
          events.push(e);
          onEvent(e);
        },
      });
      return {
        ok: result.summary.result === "succeeded",
        changes: counts(result.summary.resourceChanges ?? {}),
        outputs: plainOutputs(valuesOf(result.outputs)),
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

/**
 * Runs the `pulumi` on PATH (scripts/env.sh puts the project's build first) in `cwd`.
 * @throws UserError when the stack does not exist; Error with the CLI's stderr otherwise.
 */
export async function pulumiCli(
  cwd: string,
  args: readonly string[],
  stdin?: string,
): Promise<string> {
  // Global flags go first: anything after a "--" would be taken as a value.
  const child = spawn("pulumi", ["--non-interactive", ...args], {
    cwd,
    env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
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
