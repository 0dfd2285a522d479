import * as pulumi from "@pulumi/pulumi";
import { ResourceType, dynamicToken } from "../domain/resourceTypes";

export { token } from "../domain/resourceTypes";

/** What a resource class adds to the caller's options. */
export interface ResourceDefaults {
  /** Outputs stored as secrets whatever the caller passed (credentials in URLs and env). */
  readonly secretOutputs: readonly string[];
  /** The data outlives the resource: removing it from the program leaves the world as it is. */
  readonly retainOnDelete?: boolean;
  /** A value whose change re-runs the resource (a new snapshot, a new gate run). */
  readonly replacementTrigger?: pulumi.Input<unknown>;
}

/**
 * The caller's options plus the class's defaults, and an alias from the type stacks recorded
 * while these were Node.js dynamic resources, so those stacks upgrade in place.
 */
export function resourceOptions(
  type: ResourceType,
  opts: pulumi.CustomResourceOptions | undefined,
  defaults: ResourceDefaults,
): pulumi.CustomResourceOptions {
  return {
    ...opts,
    aliases: [...(opts?.aliases ?? []), { type: dynamicToken(type) }],
    additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...defaults.secretOutputs],
    ...(defaults.retainOnDelete === undefined ? {} : { retainOnDelete: defaults.retainOnDelete }),
    ...(defaults.replacementTrigger === undefined
      ? {}
      : { replacementTrigger: defaults.replacementTrigger }),
  };
}
