// The `pulumi-resource-rewind` plugin: the engine's calls, dispatched by type token to the
// resource handlers beside this file, on plain values (resourceHandler.ts).
import type * as provider from "@pulumi/pulumi/provider";
import { GET_CURRENT_RELEASE, RESOURCE_TYPES, ResourceType, token } from "../domain/resourceTypes";
import { backupSnapshotHandler } from "./backupSnapshot";
import { CurrentReleaseQuery, currentReleaseInvoke } from "./currentRelease";
import { dockerDeploymentHandler } from "./dockerDeployment";
import { healthGateHandler } from "./healthGate";
import { imageRefHandler } from "./imageRef";
import { migrationHandler } from "./migration";
import { identifySessions } from "../adapters/postgres";
import { ResourceHandler, asSecrets, plain, secretKeys } from "./resourceHandler";
import { restoreHandler } from "./restore";
import { schema } from "./schema";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each handler has its own types
type AnyHandler = ResourceHandler<any, any>;

const HANDLERS: Record<ResourceType, AnyHandler> = {
  ImageRef: imageRefHandler,
  DockerDeployment: dockerDeploymentHandler,
  BackupSnapshot: backupSnapshotHandler,
  Migration: migrationHandler,
  Restore: restoreHandler,
  HealthGate: healthGateHandler,
};

const BY_TOKEN = new Map<string, AnyHandler>(RESOURCE_TYPES.map((t) => [token(t), HANDLERS[t]]));

/** The handler of the resource a URN names (`urn:pulumi:stack::project::parent$type::name`). */
function handlerOf(urn: string): AnyHandler {
  const qualified = urn.split("::")[2] ?? "";
  const type = qualified.slice(qualified.lastIndexOf("$") + 1);
  const handler = BY_TOKEN.get(type);
  if (handler === undefined) {
    throw new Error(`pulumi-resource-rewind serves no resource type ${type} (${urn})`);
  }
  return handler;
}

/** `<project>/<stack>` of a URN, the stack id the resources label their containers with. */
function stackIdOf(urn: string): string {
  const [, stack = "", project = ""] = /^urn:pulumi:([^:]*)::([^:]*)::/.exec(urn) ?? [];
  return `${project}/${stack}`;
}

/** Rewind's resource provider, as `@pulumi/pulumi/provider`'s `main` serves it. */
export class RewindProvider implements provider.Provider {
  constructor(readonly version: string) {}

  async getSchema(): Promise<string> {
    return JSON.stringify(schema(this.version));
  }

  async check(urn: string, olds: unknown, news: unknown): Promise<provider.CheckResult> {
    // The engine's first call for any resource: from here on the sessions name this stack.
    identifySessions(stackIdOf(urn));
    const handler = handlerOf(urn);
    if (handler.check === undefined) {
      return { inputs: news };
    }
    const result = await handler.check(olds === undefined ? undefined : plain(olds), plain(news));
    return {
      inputs: asSecrets(result.inputs, secretKeys(news)),
      failures: result.failures === undefined ? [] : [...result.failures],
    };
  }

  async diff(id: string, urn: string, olds: unknown, news: unknown): Promise<provider.DiffResult> {
    return handlerOf(urn).diff(id, plain(olds), plain(news));
  }

  async create(urn: string, inputs: unknown): Promise<provider.CreateResult> {
    const { id, outs } = await handlerOf(urn).create(plain(inputs));
    return { id, outs: asSecrets(outs, secretKeys(inputs)) };
  }

  async read(id: string, urn: string, props?: unknown): Promise<provider.ReadResult> {
    identifySessions(stackIdOf(urn));
    const handler = handlerOf(urn);
    if (handler.read === undefined) {
      return { id, props };
    }
    const result = await handler.read(id, props === undefined ? undefined : plain(props));
    return { id: result.id, props: asSecrets(result.props, secretKeys(props)) };
  }

  async update(
    id: string,
    urn: string,
    olds: unknown,
    news: unknown,
  ): Promise<provider.UpdateResult> {
    const handler = handlerOf(urn);
    if (handler.update === undefined) {
      throw new Error(`${urn} cannot be updated in place; its diff must replace it`);
    }
    const { outs } = await handler.update(id, plain(olds), plain(news));
    return { outs: asSecrets(outs, secretKeys(news)) };
  }

  async delete(id: string, urn: string, props: unknown): Promise<void> {
    identifySessions(stackIdOf(urn));
    await handlerOf(urn).delete?.(id, plain(props));
  }

  async invoke(tok: string, inputs: unknown): Promise<provider.InvokeResult> {
    if (tok !== GET_CURRENT_RELEASE) {
      throw new Error(`pulumi-resource-rewind has no function ${tok}`);
    }
    const query = plain(inputs) as CurrentReleaseQuery;
    identifySessions(query.stackId);
    return { outputs: await currentReleaseInvoke(query) };
  }
}
