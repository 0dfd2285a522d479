// --notify over real HTTP to a receiver on 127.0.0.1 that the test starts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { UserError } from "../../domain/errors";
import { checkWebhookUrl, postWebhook } from "../../cli/notify";
import { WebhookReceiver, startWebhookReceiver } from "../support/webhookReceiver";

describe("postWebhook", () => {
  let receiver: WebhookReceiver;
  before(async () => {
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  test("POSTs the payload as JSON", async () => {
    receiver.status = 200;
    const { status } = await postWebhook(checkWebhookUrl(receiver.url), {
      text: "Rolled back",
      rewind: { update: 4 },
    });
    assert.equal(status, 200);
    const request = receiver.requests.at(-1);
    assert.equal(request?.method, "POST");
    assert.equal(request?.path, "/hooks/rewind");
    assert.equal(request?.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(request?.body ?? ""), {
      text: "Rolled back",
      rewind: { update: 4 },
    });
  });

  test("a refusal names the status and the receiver's words, never the URL's path (it may hold a token)", async () => {
    receiver.status = 400;
    await assert.rejects(
      postWebhook(checkWebhookUrl(`${receiver.url}/T0KEN`), { text: "x" }),
      (e: Error) => {
        assert.equal(
          e.message,
          `webhook ${new URL(receiver.url).origin} answered 400: invalid_payload`,
        );
        return true;
      },
    );
  });

  test("nobody listening is an error, not a hang", async () => {
    const closed = await startWebhookReceiver();
    await closed.close();
    await assert.rejects(
      postWebhook(checkWebhookUrl(closed.url), { text: "x" }, 2000),
      /ECONNREFUSED/,
    );
  });
});

describe("checkWebhookUrl", () => {
  test("only http and https", () => {
    assert.throws(() => checkWebhookUrl("file:///etc/passwd"), UserError);
    assert.throws(() => checkWebhookUrl("hooks.slack.com/x"), {
      message: '--notify "hooks.slack.com/x" is not a URL',
    });
    assert.equal(checkWebhookUrl("https://hooks.example.com/services/X").host, "hooks.example.com");
  });
});
