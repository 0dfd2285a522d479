// Before a release changes anything: the app's registry must accept its credentials. The
// ImageRef checks them too, but only when the engine reaches it, after resources that do not
// depend on the image (the Migration) may already have been updated.
import { resolveDigest } from "../adapters/registry";
import { REGISTRY_PASSWORD_KEY, RewindConfig } from "../domain/config";
import { UserError } from "../domain/errors";

/**
 * Resolves the pinned version with the configured credentials.
 * @throws UserError naming the registry and the keys when the registry refuses (or wants)
 * credentials; any other failure (a registry that is down) is left for the update to report.
 */
export async function checkRegistryCredentials(config: RewindConfig): Promise<void> {
  const credentials = config.app.registry;
  if (credentials === undefined) {
    return;
  }
  try {
    await resolveDigest(config.app.image, config.app.version, credentials);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Every credentials error of adapters/registryAuth.ts names the password's key.
    if (message.includes(REGISTRY_PASSWORD_KEY)) {
      throw new UserError(
        `${message}\nNothing was changed; the stack's config file is as it was.`,
        { cause: err },
      );
    }
  }
}
