// A throwaway stack driven through the real Pulumi CLI, configured the way scripts/demo
// configures one (`pulumi config set-all --path`), destroyed and removed by the cleanup list.
// Rewind's own project by default; bench/growth's for the growth benchmark.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Cleanup, Env, dbUrl, run } from "./lib";
import { describeCpu, programCpuBreakdown } from "./cpuProfile";
import { EventLogTail, UpPhases, phases, summarizeTrace } from "./profile";

export class BenchStack {
  readonly projectDir: string;

  constructor(
    private readonly env: Env,
    readonly name: string,
    projectDir?: string,
  ) {
    this.projectDir = projectDir ?? env.root;
  }

  /** `pulumi <args> --stack <name> --non-interactive` in the project. */
  pulumi(args: readonly string[], input?: string, env: Record<string, string> = {}) {
    return run("pulumi", [...args, "--stack", this.name, "--non-interactive"], {
      cwd: this.projectDir,
      input,
      // --event-log is one of the CLI's debug flags (the Automation API sets this too).
      env: { PULUMI_DEBUG_COMMANDS: "true", ...env },
    });
  }

  /** `pulumi stack init`; registers destroy, stack rm and the backup store's removal. */
  async create(cleanup: Cleanup): Promise<void> {
    await run("pulumi", ["stack", "init", this.name, "--non-interactive"], {
      cwd: this.projectDir,
    });
    cleanup.add(`destroy and remove stack ${this.name}`, async () => {
      await this.pulumi(["destroy", "--yes", "--skip-preview"]);
      await this.pulumi(["stack", "rm", "--yes"]);
      fs.rmSync(this.storePath(), { recursive: true, force: true });
    });
  }

  /** A stack of Rewind's program over `db`, configured like the demo's. */
  async init(cleanup: Cleanup, db: string, appPort: number): Promise<void> {
    await this.create(cleanup);
    await this.set({
      "app.name": `bench${this.name.replace(/[^a-z0-9]/g, "")}`,
      "app.image": `${this.env.registry}/hunter`,
      "app.replicas": "2",
      "app.port": String(appPort),
      "database.migrations.tool": "sql",
      "database.migrations.dir": "examples/hunter/migrations",
      "backup.store.kind": "fs",
      "backup.store.path": this.storePath(),
      // LIMIT: the gate must not read the benchmark's million rows.
      "gate.sql[0].query": "select 1 from items limit 100",
      "gate.sql[0].minRows": "100",
    });
    await this.setSecret("database.url", dbUrl(this.env, db));
  }

  storePath(): string {
    return path.join(this.env.home, "bench-backups", this.name);
  }

  /** `pulumi config set-all --path --plaintext rewind:<key>=<value>...`. */
  async set(values: Record<string, string>): Promise<void> {
    const args = Object.entries(values).flatMap(([k, v]) => ["--plaintext", `rewind:${k}=${v}`]);
    await this.pulumi(["config", "set-all", "--path", ...args]);
  }

  /** `pulumi config set --path --secret rewind:<key>`, the value on stdin (not in `ps`). */
  async setSecret(key: string, value: string): Promise<void> {
    await this.pulumi(["config", "set", "--path", "--secret", `rewind:${key}`], value);
  }

  /** `pulumi up --yes --skip-preview`; resolves with its wall time in ms. */
  async up(message: string): Promise<number> {
    return (await this.upProfiled(message)).ms;
  }

  /**
   * {@link up}, with the phases of the run from its engine event log and the CLI's trace; with
   * `cpu`, also a CPU profile of the program process (an extra run: profiling slows it down).
   */
  async upProfiled(
    message: string,
    cpu = false,
  ): Promise<{ ms: number; phases: UpPhases; cpu?: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-bench-events-"));
    const log = path.join(dir, "events.jsonl");
    const trace = path.join(dir, "trace.json");
    const cpuEnv: Record<string, string> = cpu
      ? {
          NODE_OPTIONS: [
            process.env.NODE_OPTIONS ?? "",
            `--require ${path.join(this.env.root, "dist", "bench", "cpuProfileHook.js")}`,
          ]
            .join(" ")
            .trim(),
          BENCH_CPU_PROFILE_DIR: dir,
        }
      : {};
    const started = performance.now();
    const tail = new EventLogTail(log, started);
    try {
      await this.pulumi(
        [
          "up",
          "--yes",
          "--skip-preview",
          "--message",
          message,
          "--event-log",
          log,
          "--otel-traces",
          `file://${trace}`,
        ],
        undefined,
        cpuEnv,
      );
      const ms = performance.now() - started;
      tail.stop();
      const breakdown = cpu ? programCpuBreakdown(dir) : undefined;
      return {
        ms,
        phases: { ...phases(tail.lines, ms), trace: summarizeTrace(trace) },
        cpu: breakdown === undefined ? undefined : describeCpu(breakdown),
      };
    } finally {
      tail.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
