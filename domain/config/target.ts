// `rewind:target`: where the app runs.
import { z } from "zod";

/**
 * `rewind:target`: where the app runs.
 * @default "docker"
 */
export const targetSchema = z
  .enum(["docker", "kubernetes"], { error: `"docker" or "kubernetes"` })
  .default("docker");

export type Target = z.infer<typeof targetSchema>;
