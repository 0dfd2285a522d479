import * as pulumi from "@pulumi/pulumi";
import { UserError } from "../domain/errors";
import { GET_CURRENT_RELEASE } from "../domain/resourceTypes";
import type { CurrentRelease, CurrentReleaseQuery } from "../provider/currentRelease";

export type { CurrentRelease, CurrentReleaseQuery } from "../provider/currentRelease";

/**
 * What runs now, asked of the plugin (`rewind:index:getCurrentRelease`): the database's revision
 * and last restore, the running app version, and a pinned snapshot's revision while its
 * restore is due. The program plans from it before it declares anything.
 */
export async function getCurrentRelease(query: CurrentReleaseQuery): Promise<CurrentRelease> {
  const result = (await pulumi.runtime.invoke(GET_CURRENT_RELEASE, { ...query })) as
    CurrentRelease | { error: string };
  if ("error" in result) {
    throw new UserError(result.error);
  }
  return result;
}
