// A rollback pins an earlier version and expects the same bytes back. "latest" (or no tag,
// which means "latest") moves under the pin, so the pin would not mean anything; in production
// even an immutable-looking tag can be re-pushed, so only a digest counts.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { DockerDeployment } from "../components/dockerDeployment";
import { ImageRef } from "../components/imageRef";
import { Props, UNKNOWN, nonEmptyString, readProps, show } from "./resources";

/** Policy config of `images-pinned`. */
export interface ImagesPinnedConfig {
  /**
   * Whether a DockerDeployment must run its image by digest (`image@sha256:…`); set in
   * production (policy/config/prod.json).
   * @default false
   */
  readonly requireDigest?: boolean;
}

const FIX = `pin an immutable tag or a sha256: digest`;

function isLatest(version: string): boolean {
  return version.toLowerCase() === "latest";
}

/** The tag of an image reference, or undefined when it has none (a registry port is no tag). */
export function tagOf(ref: string): string | undefined {
  const name = ref.split("@")[0];
  const last = name.slice(name.lastIndexOf("/") + 1);
  const colon = last.indexOf(":");
  return colon < 0 ? undefined : last.slice(colon + 1);
}

/** Checks an ImageRef's inputs: a version is pinned, and neither it nor the image is latest. */
export function checkImageRef(imageRef: Props): string[] {
  const { image, version } = imageRef;
  const problems: string[] = [];
  if (typeof image === "string") {
    const tag = tagOf(image);
    if (tag !== undefined && isLatest(tag)) {
      problems.push(
        `Image ${show(image)} carries the tag "latest"; name the repository without a tag ` +
          `and ${FIX} as its version.`,
      );
    }
  }
  if (version === UNKNOWN) {
    return problems;
  }
  const pinned = nonEmptyString(version);
  if (pinned === undefined) {
    problems.push(`Image ${show(image)} has no version; ${FIX}.`);
  } else if (isLatest(pinned)) {
    problems.push(`Image ${show(image)} is pinned to "latest", which moves; ${FIX}.`);
  }
  return problems;
}

/**
 * Checks a DockerDeployment's inputs: its version is not latest, its `ref` names a tag other
 * than latest or a digest, and with `requireDigest` only a digest.
 */
export function checkDockerDeployment(deployment: Props, config: ImagesPinnedConfig): string[] {
  const { ref, version } = deployment;
  const problems: string[] = [];
  if (typeof version === "string" && isLatest(version)) {
    problems.push(`The deployment's version is "latest", which moves; ${FIX}.`);
  }
  if (ref === UNKNOWN) {
    return problems;
  }
  const image = nonEmptyString(ref);
  if (image === undefined) {
    problems.push(`The deployment names no image ref; run the ImageRef's ref (image@sha256:…).`);
    return problems;
  }
  if (image.includes("@sha256:")) {
    return problems;
  }
  const tag = tagOf(image);
  if (tag === undefined || isLatest(tag)) {
    problems.push(
      `The deployment runs ${show(image)}, which is "latest"${tag === undefined ? " (no tag)" : ""}; ` +
        `run the ImageRef's ref (image@sha256:…).`,
    );
  } else if (config.requireDigest === true) {
    problems.push(
      `The deployment runs ${show(image)}, a tag not resolved to a digest; this stack requires ` +
        `image@sha256:… (the ImageRef's ref).`,
    );
  }
  return problems;
}

/** `images-pinned`. Resource checks only: they run before a container is started. */
export const imagesPinned: ResourceValidationPolicy = {
  name: "images-pinned",
  description:
    "Images must be pinned to an immutable tag or a digest, never latest; where requireDigest " +
    "is set (production), a deployment must run its image by digest.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: {
    properties: {
      requireDigest: {
        type: "boolean",
        default: false,
        description: "A DockerDeployment must run its image by digest (image@sha256:…).",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    let problems: string[];
    if (args.isType(ImageRef)) {
      problems = checkImageRef(readProps(args.props, ["image", "version"]));
    } else if (args.isType(DockerDeployment)) {
      problems = checkDockerDeployment(
        readProps(args.props, ["ref", "version"]),
        args.getConfig<ImagesPinnedConfig>(),
      );
    } else {
      return;
    }
    for (const message of problems) {
      reportViolation(message);
    }
  },
};
