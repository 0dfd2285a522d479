import * as pulumi from "@pulumi/pulumi";
import { resourceOptions, token } from "./resourceOptions";

/** Arguments of an ImageRef: a repository and the version pinned in it. */
export interface ImageRefArgs {
  /** The repository without tag or digest, e.g. `127.0.0.1:5000/hunter`. */
  image: pulumi.Input<string>;
  /** An immutable tag (not `latest`) or a `sha256:` digest. */
  version: pulumi.Input<string>;
  /**
   * The registry's user, for a registry that wants credentials.
   * @default "" (anonymous)
   */
  registryUsername?: pulumi.Input<string>;
  /**
   * The registry's password; stored as a secret.
   * @default "" (anonymous)
   */
  registryPassword?: pulumi.Input<string>;
}

/**
 * A pinned image version resolved to its manifest digest (`rewind:index:ImageRef`).
 * Changing `image` or `version` replaces it; `pulumi refresh` re-resolves the tag, so a tag moved
 * under the pin shows as drift.
 */
export class ImageRef extends pulumi.CustomResource {
  static readonly __pulumiType = token("ImageRef");

  static isInstance(obj: unknown): obj is ImageRef {
    return (
      pulumi.CustomResource.isInstance(obj) &&
      (obj as { __pulumiType?: string }).__pulumiType === ImageRef.__pulumiType
    );
  }

  /** The repository. */
  declare public readonly image: pulumi.Output<string>;
  /** The pinned version, as given. */
  declare public readonly version: pulumi.Output<string>;
  /** `sha256:…` of the manifest. */
  declare public readonly digest: pulumi.Output<string>;
  /** `image@digest`: what containers are started from. */
  declare public readonly ref: pulumi.Output<string>;

  constructor(name: string, args: ImageRefArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      ImageRef.__pulumiType,
      name,
      {
        image: args.image,
        version: args.version,
        registryUsername: args.registryUsername ?? "",
        registryPassword: pulumi.secret(args.registryPassword ?? ""),
        digest: undefined,
        ref: undefined,
      },
      resourceOptions("ImageRef", opts, { secretOutputs: ["registryPassword"] }),
    );
  }
}
