// Benchmark 0: the engine floor. A no-change `pulumi up` of an empty Node.js program (one stack
// output, no resources; bench/floor/) on the same CLI, language host and backend as Rewind's
// program, in the same run: what any Pulumi program pays before it does anything. Issue 9's
// targets are ratios to it.
import * as path from "node:path";
import { Cleanup, Env } from "./lib";
import { UpPhases } from "./profile";
import { BenchStack } from "./stack";

/** The floor's project: bench/floor/Pulumi.yaml, its program compiled into dist/bench/floor. */
export function floorProject(env: Env): string {
  return path.join(env.root, "bench", "floor");
}

/** A stack of the empty program, deployed once (its one output), for {@link timeFloor}. */
export async function createFloorStack(
  env: Env,
  cleanup: Cleanup,
  tag: string,
): Promise<BenchStack> {
  const stack = new BenchStack(env, `bench-floor-${tag}`, floorProject(env));
  await stack.create(cleanup);
  await stack.up("bench: engine floor, first up");
  return stack;
}

/** `reps` timed no-change ups of the floor's stack. */
export async function timeFloor(
  stack: BenchStack,
  reps: number,
): Promise<{ samples: number[]; profiles: UpPhases[] }> {
  const samples: number[] = [];
  const profiles: UpPhases[] = [];
  for (let r = 0; r < reps; r++) {
    const same = await stack.upProfiled("bench: engine floor, no change");
    samples.push(same.ms);
    profiles.push(same.phases);
  }
  return { samples, profiles };
}
