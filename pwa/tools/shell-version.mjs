// The service worker's VERSION is a digest of the app shell and of the maps' files (MAP_FILES,
// kept at runtime in a cache of the same version), so that any change to one of them gives a new
// cache (and a new sw.js, which is what makes browsers install the update).
//
//   node pwa/tools/shell-version.mjs          print the version the files on disk need
//   node pwa/tools/shell-version.mjs --write  write it into pwa/sw.js
//
// tests/js/shell.test.mjs fails while sw.js has a stale VERSION.

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const PWA_DIR = fileURLToPath(new URL("../", import.meta.url));
const VERSION_LINE = /const VERSION = "[^"]*";/;

/** The URLs in sw.js's SHELL list. */
export function shellUrls(swSource) {
  const match = /const SHELL = \[([\s\S]*?)\];/.exec(swSource);
  if (!match) throw new Error("sw.js has no SHELL list");
  return [...match[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

/** The URLs in sw.js's MAP_FILES list (not precached, but versioned with the shell). */
export function mapUrls(swSource) {
  const match = /const MAP_FILES = \[([\s\S]*?)\];/.exec(swSource);
  return match ? [...match[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]) : [];
}

/** The file in pwa/ that a shell URL serves ("/" is index.html). */
export function shellFile(url, pwaDir = PWA_DIR) {
  return join(pwaDir, url === "/" ? "index.html" : url.slice(1));
}

export function shellVersion(pwaDir = PWA_DIR) {
  const sw = readFileSync(join(pwaDir, "sw.js"), "utf8");
  const hash = createHash("sha256");
  for (const url of [...shellUrls(sw), ...mapUrls(sw)].sort()) {
    hash.update(`${url}\n`);
    hash.update(readFileSync(shellFile(url, pwaDir)));
    hash.update("\n");
  }
  return hash.digest("hex").slice(0, 12);
}

export function versionInSw(pwaDir = PWA_DIR) {
  const match = /const VERSION = "([^"]*)";/.exec(readFileSync(join(pwaDir, "sw.js"), "utf8"));
  return match ? match[1] : null;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const version = shellVersion();
  if (process.argv.includes("--write")) {
    const path = join(PWA_DIR, "sw.js");
    writeFileSync(path, readFileSync(path, "utf8").replace(VERSION_LINE, `const VERSION = "${version}";`));
  }
  console.log(version);
}
