import * as pulumi from "@pulumi/pulumi";
import { InputError, UserError } from "../domain/errors";
import { GET_CURRENT_RELEASE } from "../domain/resourceTypes";
import type {
  CurrentRelease,
  CurrentReleaseQuery,
  CurrentReleaseRefusal,
} from "../provider/currentRelease";

export type { CurrentRelease, CurrentReleaseQuery } from "../provider/currentRelease";

/**
 * What runs now, asked of the plugin (`rewind:index:getCurrentRelease`): the database's revision
 * and last restore, the running app version, and a pinned snapshot's revision while its
 * restore is due. The program plans from it before it declares anything.
 * @throws InputError when an input of the query is refused (a pinned snapshot
 * the store does not have); UserError when the database or Docker cannot be read.
 */
export async function getCurrentRelease(query: CurrentReleaseQuery): Promise<CurrentRelease> {
  const result = (await pulumi.runtime.invoke(GET_CURRENT_RELEASE, { ...query })) as
    CurrentRelease | CurrentReleaseRefusal;
  if ("error" in result) {
    throw result.input === undefined
      ? new UserError(result.error)
      : new InputError(result.input, result.error);
  }
  return result;
}
