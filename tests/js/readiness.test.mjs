// "Test my alerts" in the app (pwa/app/readiness.js): what the app says of this phone, the result
// line ("Shown in 1.4 s"), the advice for each failure and platform, and following a test until
// the server says how it went.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ApiError } from "../../pwa/app/api.js";
import { adviceFor, appState, formatDuration, resultLine, runTest } from "../../pwa/app/readiness.js";

const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1";
const ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36";
const LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36";

function browser(userAgent, { standalone = false, permission = "granted" } = {}) {
  return [
    { userAgent, maxTouchPoints: 5 },
    { matchMedia: () => ({ matches: standalone }), Notification: { permission } },
  ];
}

describe("what the app says of this phone", () => {
  it("names the platform, whether it runs installed, and the permission", () => {
    assert.deepEqual(appState(...browser(IPHONE, { standalone: true })), { platform: "ios", installed: true, permission: "granted" });
    assert.deepEqual(appState(...browser(ANDROID, { permission: "denied" })), { platform: "android", installed: false, permission: "denied" });
    assert.deepEqual(appState(...browser(LINUX, { permission: "default" })), { platform: "desktop", installed: false, permission: "default" });
  });
});

describe("how a test went", () => {
  it("says how long the phone took to show it", () => {
    assert.equal(formatDuration(1400), "1.4 s");
    assert.equal(formatDuration(12400), "12 s");
    assert.equal(formatDuration(125000), "2 min 5 s");
    assert.equal(resultLine({ result: "passed", duration_ms: 1400 }), "Shown in 1.4 s.");
    assert.match(resultLine({ result: "pending" }), /waiting/);
    assert.match(resultLine({ result: "failed", failure_code: "permission" }), /not allowed/);
    assert.match(resultLine({ result: "failed", failure_code: "no_receipt" }), /did not show/);
  });

  it("tells an iPhone not on the Home Screen to add it there, and to allow notifications", () => {
    const advice = adviceFor({ result: "failed", failure_code: "permission" }, { platform: "ios", installed: false, permission: "default" });
    assert.match(advice[0], /Add to Home Screen/);
    assert.match(advice[1], /Settings, Notifications/);
  });

  it("tells an Android phone that got no receipt about battery optimisation and Do Not Disturb", () => {
    const advice = adviceFor({ result: "failed", failure_code: "no_receipt" }, { platform: "android", installed: true, permission: "granted" });
    assert.ok(advice.some((line) => /battery optimisation/i.test(line)), advice.join("\n"));
    assert.ok(advice.some((line) => /Do Not Disturb/.test(line)), advice.join("\n"));
    assert.ok(!advice.some((line) => /Home Screen/.test(line)));
  });

  it("tells an iPhone that got no receipt about Focus modes", () => {
    const advice = adviceFor({ result: "failed", failure_code: "no_receipt" }, { platform: "ios", installed: true, permission: "granted" });
    assert.ok(advice.some((line) => /Focus/.test(line)), advice.join("\n"));
    assert.ok(!advice.some((line) => /battery/i.test(line)));
  });

  it("tells a phone whose push was refused to turn notifications on again", () => {
    const advice = adviceFor({ result: "failed", failure_code: "refused" }, { platform: "android", installed: true, permission: "granted" });
    assert.deepEqual(advice.length, 1);
    assert.match(advice[0], /Turn notifications on again/);
  });
});

describe("following a test", () => {
  const STATE = { platform: "android", installed: true, permission: "granted" };

  function fakeApi(answers) {
    const calls = [];
    return {
      calls,
      startPushTest: async (endpoint, state) => (calls.push(["start", endpoint, state]), answers.shift()),
      pushTest: async (id) => {
        calls.push(["get", id]);
        const answer = answers.shift();
        if (answer instanceof Error) throw answer;
        return answer;
      },
    };
  }
  const options = (more = {}) => ({ endpointOf: async () => "https://push.example/1", stateOf: () => STATE, sleep: async () => {}, ...more });

  it("sends the app's state with the test and polls until the receipt passes it", async () => {
    const api = fakeApi([
      { id: 3, result: "pending", receipt_wait_seconds: 120 },
      { id: 3, result: "pending" },
      { id: 3, result: "passed", duration_ms: 900 },
    ]);
    const seen = [];
    const check = await runTest(api, options({ onChange: (c) => seen.push(c.result) })).done;
    assert.equal(check.result, "passed");
    assert.deepEqual(seen, ["pending", "pending", "passed"]);
    assert.deepEqual(api.calls[0], ["start", "https://push.example/1", STATE]);
  });

  it("keeps polling through a moment without signal", async () => {
    const api = fakeApi([{ id: 3, result: "pending", receipt_wait_seconds: 120 }, new ApiError(0, "network", "offline"), { id: 3, result: "failed", failure_code: "no_receipt" }]);
    assert.equal((await runTest(api, options()).done).result, "failed");
  });

  it("counts a test whose device the push service made the server forget as refused", async () => {
    const api = fakeApi([{ id: 3, result: "pending", receipt_wait_seconds: 120 }, new ApiError(404, "not_found", "gone")]);
    const check = await runTest(api, options()).done;
    assert.deepEqual([check.result, check.failure_code], ["failed", "refused"]);
  });

  it("gives up polling once the server's wait is long past", async () => {
    let clock = 0;
    const api = fakeApi([{ id: 3, result: "pending", receipt_wait_seconds: 10 }, ...Array(100).fill({ id: 3, result: "pending" })]);
    const check = await runTest(api, options({ now: () => clock, sleep: async () => void (clock += 1000) })).done;
    assert.equal(check.result, "pending");
    assert.ok(api.calls.length < 40, `${api.calls.length} calls`);
  });

  it("refuses to start on a phone with no push subscription", async () => {
    const api = fakeApi([]);
    await assert.rejects(runTest(api, options({ endpointOf: async () => null })).done, /not registered/);
    assert.deepEqual(api.calls, []);
  });
});
