// Resolves a pinned image version to its manifest digest. The digest, not the tag, is what the
// containers run, so a rollback by pin brings back exactly the bytes that ran before.
import { CheckFailure, ResourceHandler, UNKNOWN } from "./resourceHandler";
import { resolveDigest } from "../adapters/registry";
import { RegistryCredentials } from "../adapters/registryAuth";
import { digestRef, repositoryProblem, versionProblem } from "../domain/imageRepository";

/** An ImageRef's inputs as the provider receives them. */
export interface ImageRefInputs {
  /** Repository without tag or digest, e.g. `127.0.0.1:5000/hunter`. */
  image: string;
  /** Immutable tag or `sha256:` digest. */
  version: string;
  /** The registry's user; "" (or absent, in states from before credentials) is anonymous. */
  registryUsername?: string;
  /** The registry's password, a secret; "" is anonymous. */
  registryPassword?: string;
}

/** The credentials of `inputs`, or undefined for anonymous access. */
export function credentialsOf(inputs: {
  registryUsername?: string;
  registryPassword?: string;
}): RegistryCredentials | undefined {
  const { registryUsername: username, registryPassword: password } = inputs;
  return username && password ? { username, password } : undefined;
}

export interface ImageRefOutputs extends ImageRefInputs {
  /** `sha256:…` of the manifest the version names. */
  digest: string;
  /** `image@digest`. */
  ref: string;
}

async function resolve(inputs: ImageRefInputs): Promise<ImageRefOutputs> {
  const digest = await resolveDigest(inputs.image, inputs.version, credentialsOf(inputs));
  return {
    ...inputs,
    digest,
    ref: digestRef(inputs.image, digest),
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export const imageRefHandler: ResourceHandler<ImageRefInputs, ImageRefOutputs> = {
  async check(olds, news) {
    const inputs: ImageRefInputs = {
      image: news.image,
      version: news.version,
      registryUsername: news.registryUsername ?? "",
      registryPassword: news.registryPassword ?? "",
    };
    if (
      news.image === UNKNOWN ||
      news.version === UNKNOWN ||
      inputs.registryUsername === UNKNOWN ||
      inputs.registryPassword === UNKNOWN
    ) {
      return { inputs }; // checked at `up`
    }
    const failures: CheckFailure[] = [];
    const imageProblem = repositoryProblem(news.image);
    if (imageProblem !== undefined) {
      failures.push({ property: "image", reason: imageProblem });
    }
    const pinProblem = versionProblem(news.version);
    if (pinProblem !== undefined) {
      failures.push({ property: "version", reason: pinProblem });
    }
    // A changed pin is resolved here, during preview, so a version missing from the registry
    // stops the update before anything else changes. An unchanged pin is not: a registry that
    // is down must not block redeploying (or rolling back to) what already ran.
    const changed = olds?.image !== news.image || olds?.version !== news.version;
    if (failures.length === 0 && changed) {
      try {
        await resolveDigest(news.image, news.version, credentialsOf(inputs));
      } catch (err) {
        failures.push({ property: "version", reason: messageOf(err) });
      }
    }
    return { inputs, failures };
  },

  async diff(_id, olds, news) {
    // Any other image is a different resource; nothing is updated in place. New credentials
    // alone change nothing that runs: they are used from the next change on.
    const replaces = (["image", "version"] as const).filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length > 0, replaces };
  },

  async create(inputs) {
    const outs = await resolve(inputs);
    return { id: outs.ref, outs };
  },

  async update(_id, _olds, news) {
    return { outs: await resolve(news) };
  },

  async read(id, props) {
    // Refresh asks the registry again: a tag moved under the pin shows up as a new digest.
    if (props === undefined) {
      return { id };
    }
    const outs = await resolve(props);
    return { id, props: outs };
  },
};
