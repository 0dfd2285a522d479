// Posts the chat message to an incoming webhook (the runbooks' Slack message). The only HTTP
// the CLI does; Node's own fetch, no dependency.
import { UserError } from "../domain/errors";

/** A webhook URL worth trying: http(s) only, so a typo cannot read a local file. */
export function checkWebhookUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`--notify ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UserError(
      `--notify ${JSON.stringify(url)}: only http and https webhooks are supported`,
    );
  }
  return parsed;
}

/**
 * POSTs `payload` as JSON.
 * @throws Error naming the status when the receiver does not answer 2xx within `timeoutMs`.
 */
export async function postWebhook(
  url: URL,
  payload: unknown,
  timeoutMs = 10_000,
): Promise<{ status: number }> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "rewind" },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause =
      error instanceof Error
        ? error.cause instanceof Error
          ? error.cause.message
          : error.message
        : String(error);
    throw new Error(`webhook ${url.origin}: ${cause}`, { cause: error });
  }
  // Read the body so the connection is released; a chat service explains a refusal there.
  const body = (await response.text()).slice(0, 200);
  if (!response.ok) {
    throw new Error(`webhook ${url.origin} answered ${response.status}${body ? `: ${body}` : ""}`);
  }
  return { status: response.status };
}
