// Benchmark 4: how Rewind's fixed costs grow.
//   services  a no-change `pulumi up` of Rewind's program with 1, 10 and 50 services: the app and
//             49 workers from the same image and version (rewind:app.services), each an
//             AppService (two ImageRefs and a DockerDeployment with one replica and its proxy),
//             beside the Migration and the HealthGate. One stack grows from 1 to 10 to 50; each
//             size is deployed once (not timed), then the no-change up is timed.
//   history   `rewind plan --to 1.0.0` (with its preview, and --skip-preview) on a stack of
//             Rewind's program with 10, 100 and 1000 updates in its history, beside the raw
//             read of that history (`pulumi stack history --json`, one page). Two updates are
//             real (1.0.0 at 0001, then 1.1.0 at 0002); the rest are copies of the first one's
//             history file written into the file backend, older than both, so the plan's target
//             and current state stay the real ones.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../adapters/ports";
import { Cleanup, Env, freeConfigPort, freshDatabase, run } from "./lib";
import { UpPhases } from "./profile";
import { BenchStack } from "./stack";

/** Timed no-change ups per stack size (services). */
export type GrowthSamples = Map<number, number[]>;

export async function benchServiceGrowth(
  env: Env,
  cleanup: Cleanup,
  sizes: readonly number[],
  reps: number,
  tag: string,
): Promise<{
  noChange: GrowthSamples;
  deploy: Map<number, number>;
  profiles: Map<number, UpPhases[]>;
  /** CPU profile of one more no-change up of the largest stack (not timed). */
  cpu: string | undefined;
}> {
  const db = `bench_growth_${tag}`;
  await freshDatabase(env, cleanup, db);
  const stack = new BenchStack(env, `bench-growth-${tag}`);
  // Service names are unique per run: container names must not clash with other stacks'.
  const name = (i: number) => `bg${tag}-${i}`;
  const taken = new Set<number>();
  const port = async () => {
    const p = await freeConfigPort(taken);
    taken.add(p);
    return p;
  };
  await stack.init(cleanup, db, await port());
  await stack.set({
    "app.name": name(0),
    "app.version": "1.0.0",
    "app.replicas": "1",
    "database.revision": "0001",
  });
  const noChange: GrowthSamples = new Map();
  const deploy = new Map<number, number>();
  const profiles = new Map<number, UpPhases[]>();
  let deployed = 1;
  for (const size of [...sizes].sort((a, b) => a - b)) {
    const more: Record<string, string> = {};
    for (let i = deployed; i < size; i++) {
      more[`app.services[${i - 1}].name`] = name(i);
      more[`app.services[${i - 1}].port`] = String(await port());
      more[`app.services[${i - 1}].replicas`] = "1";
    }
    if (Object.keys(more).length > 0) await stack.set(more);
    deployed = Math.max(deployed, size);
    deploy.set(size, await stack.up(`bench: ${size} services`));
    const samples: number[] = [];
    const phases: UpPhases[] = [];
    for (let r = 0; r < reps; r++) {
      const same = await stack.upProfiled(`bench: no change, ${size}`);
      samples.push(same.ms);
      phases.push(same.phases);
    }
    noChange.set(size, samples);
    profiles.set(size, phases);
  }
  const cpu = (await stack.upProfiled("bench: no change, profiled", true)).cpu;
  return { noChange, deploy, profiles, cpu };
}

export interface HistorySamples {
  readonly plan: number[];
  readonly planSkipPreview: number[];
  readonly rawHistory: number[];
}

/** What `rewind plan` is made of, each alone, at the largest history (for the notes). */
export interface PlanParts {
  /** `rewind plan --help`: Node.js start and the CLI's modules, no pulumi call. */
  readonly cliStart: number[];
  /** `pulumi stack output --json` and `pulumi config --json`, run beside the history read. */
  readonly outputs: number[];
  readonly config: number[];
  /** `pulumi preview` of the stack as it is (the plan previews the target config). */
  readonly preview: number[];
}

/** The file backend's history directory of `stack` in project `project`. */
function historyDir(project: string, stack: string): string {
  const url = process.env.PULUMI_BACKEND_URL ?? "";
  if (!url.startsWith("file://")) {
    throw new Error(
      `PULUMI_BACKEND_URL is ${url || "unset"}; the history benchmark needs a file backend`,
    );
  }
  return path.join(fileURLToPath(url), ".pulumi", "history", project, stack);
}

/**
 * Pads the history of `stack` to `count` updates with copies of its oldest update, named (by
 * the file backend's `<stack>-<unix nanoseconds>.history.json` scheme) one second apart before it.
 */
function padHistory(dir: string, stack: string, count: number): void {
  const pattern = new RegExp(`^${stack.replace(/[-]/g, "\\-")}-(\\d+)\\.history\\.json$`);
  const files = fs
    .readdirSync(dir)
    .map((f) => ({ f, m: pattern.exec(f) }))
    .filter((x): x is { f: string; m: RegExpExecArray } => x.m !== null)
    .map((x) => ({ file: x.f, nanos: BigInt(x.m[1]) }))
    .sort((a, b) => (a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0));
  if (files.length === 0) throw new Error(`no history files in ${dir}`);
  if (files.length >= count) return;
  const oldest = files[0];
  const template = JSON.parse(fs.readFileSync(path.join(dir, oldest.file), "utf8")) as Record<
    string,
    unknown
  >;
  for (let i = 1; i <= count - files.length; i++) {
    const nanos = oldest.nanos - BigInt(i) * 1_000_000_000n;
    const seconds = Number(nanos / 1_000_000_000n);
    const copy = {
      ...template,
      message: `bench: padding ${i}`,
      startTime: seconds,
      endTime: seconds,
    };
    fs.writeFileSync(path.join(dir, `${stack}-${nanos}.history.json`), JSON.stringify(copy));
  }
}

export async function benchHistoryGrowth(
  env: Env,
  cleanup: Cleanup,
  counts: readonly number[],
  reps: number,
  tag: string,
): Promise<{ samples: Map<number, HistorySamples>; parts: PlanParts }> {
  const db = `bench_hist_${tag}`;
  await freshDatabase(env, cleanup, db);
  const stack = new BenchStack(env, `bench-hist-${tag}`);
  await stack.init(cleanup, db, await freePort());
  await stack.set({ "app.version": "1.0.0", "database.revision": "0001", "app.replicas": "1" });
  await stack.up("bench: release 1.0.0 at 0001");
  await stack.set({ "app.version": "1.1.0", "database.revision": "0002" });
  await stack.up("bench: release 1.1.0 at 0002");
  const dir = historyDir("rewind", stack.name);
  const rewind = path.join(env.root, "bin", "rewind");
  const cliEnv = { REWIND_PROJECT_DIR: env.root };
  const out = new Map<number, HistorySamples>();
  const plan = ["plan", "--to", "1.0.0", "--quiet", "--stack", stack.name];
  for (const count of [...counts].sort((a, b) => a - b)) {
    padHistory(dir, stack.name, count);
    const samples: HistorySamples = { plan: [], planSkipPreview: [], rawHistory: [] };
    for (let r = 0; r < reps; r++) {
      samples.plan.push((await run(rewind, plan, { env: cliEnv })).ms);
      samples.planSkipPreview.push(
        (await run(rewind, [...plan, "--skip-preview"], { env: cliEnv })).ms,
      );
      samples.rawHistory.push(
        (
          await stack.pulumi([
            "stack",
            "history",
            "--json",
            "--show-secrets",
            "--page-size",
            String(count),
          ])
        ).ms,
      );
    }
    out.set(count, samples);
  }
  const parts: PlanParts = { cliStart: [], outputs: [], config: [], preview: [] };
  for (let r = 0; r < reps; r++) {
    parts.cliStart.push((await run(rewind, ["plan", "--help"], { env: cliEnv })).ms);
    parts.outputs.push((await stack.pulumi(["stack", "output", "--json", "--show-secrets"])).ms);
    parts.config.push((await stack.pulumi(["config", "--json", "--show-secrets"])).ms);
    parts.preview.push((await stack.pulumi(["preview"])).ms);
  }
  return { samples: out, parts };
}
