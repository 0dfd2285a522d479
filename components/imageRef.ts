import * as pulumi from "@pulumi/pulumi";
import { imageRefProvider } from "../provider/imageRef";

/** Arguments of an ImageRef: a repository and the version pinned in it. */
export interface ImageRefArgs {
  /** The repository without tag or digest, e.g. `127.0.0.1:5000/hunter`. */
  image: pulumi.Input<string>;
  /** An immutable tag (not `latest`) or a `sha256:` digest. */
  version: pulumi.Input<string>;
}

/**
 * A pinned image version resolved to its manifest digest (`pulumi-nodejs:dynamic/rewind:ImageRef`).
 * Changing `image` or `version` replaces it; `pulumi refresh` re-resolves the tag, so a tag moved
 * under the pin shows as drift.
 */
export class ImageRef extends pulumi.dynamic.Resource {
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
      imageRefProvider,
      name,
      { image: args.image, version: args.version, digest: undefined, ref: undefined },
      opts,
      "rewind",
      "ImageRef",
    );
  }
}
