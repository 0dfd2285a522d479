// A stack opened to change it (release, rollback): its policy pack resolved once, and the
// config lock that keeps two `rewind` processes from interleaving their pins.
import { ConfigLock, acquireConfigLock, lockWaitMs } from "./configLock";
import { CliIo } from "./options";
import { PolicyPack, resolvePolicyPack } from "./policyPack";
import { StackAccess, defaultProjectDir } from "./stackAccess";

export interface StackChange {
  readonly session: StackAccess;
  readonly policy: PolicyPack;
  /** Held until the change's last update ends; the caller releases it. */
  readonly lock: ConfigLock;
}

/**
 * Opens `stack` for `command` (`rewind release …`), waiting for another holder's lock;
 * `brokenState` as StackAccess.open takes it.
 */
export async function openStackChange(
  io: CliIo,
  stack: string | undefined,
  policyConfig: string | undefined,
  command: string,
  brokenState: "refuse" | "repair" = "refuse",
): Promise<StackChange> {
  const session = await StackAccess.open(defaultProjectDir(io.env), stack, brokenState);
  const policy = resolvePolicyPack(session.workDir, session.name, policyConfig);
  const lock = await acquireConfigLock(
    session.configFile(),
    session.name,
    command,
    lockWaitMs(io.env),
  );
  return { session, policy, lock };
}
