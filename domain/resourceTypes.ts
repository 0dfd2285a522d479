// The type tokens the `pulumi-resource-rewind` plugin serves: the resource classes register
// them, the plugin dispatches on them, the policies match them. Public contract: a rename
// needs an alias in every stack.

/** The Pulumi package of Rewind's resources. */
export const PACKAGE = "rewind";

/** The plugin's resource types. */
export const RESOURCE_TYPES = [
  "ImageRef",
  "DockerDeployment",
  "BackupSnapshot",
  "Migration",
  "Restore",
  "HealthGate",
] as const;

export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** `rewind:index:<type>`. */
export function token(type: ResourceType): string {
  return `${PACKAGE}:index:${type}`;
}

/** The type a stack recorded while `type` was a Node.js dynamic resource. */
export function dynamicToken(type: ResourceType): string {
  return `pulumi-nodejs:dynamic/${PACKAGE}:${type}`;
}

/** The invoke that reads what runs now: the database's revision, the app, the last restore. */
export const GET_CURRENT_RELEASE = `${PACKAGE}:index:getCurrentRelease`;
