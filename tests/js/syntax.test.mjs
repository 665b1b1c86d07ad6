// Every module of the app parses (node --check), including the screens that need a browser to run.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const PWA = fileURLToPath(new URL("../../pwa/", import.meta.url));

function scripts(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return scripts(path);
    return /\.(m?js)$/.test(name) ? [path] : [];
  });
}

describe("syntax", () => {
  for (const file of scripts(PWA)) {
    it(`pwa/${relative(PWA, file)} parses`, () => {
      const result = spawnSync(process.execPath, ["--check", file], { encoding: "utf8" });
      assert.equal(result.status, 0, result.stderr);
    });
  }
});
