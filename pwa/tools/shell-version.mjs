// The service worker's VERSION is a digest of the app shell and of the maps' files (MAP_FILES,
// kept at runtime in a cache of the same version), so that any change to one of them gives a new
// cache (and a new sw.js, which is what makes browsers install the update).
//
//   node pwa/tools/shell-version.mjs          print the version the files on disk need
//   node pwa/tools/shell-version.mjs --write  write it into pwa/sw.js
//
// tests/js/shell.test.mjs fails while sw.js has a stale VERSION.
//
// --write first writes index.html's <link rel="modulepreload"> list: every module main.js imports
// statically, however deep (`staticModules`). Without it a browser finds the module graph level by
// level (main.js, then what it imports, then what those import: four round trips on a slow
// network before the last module is even asked for); with it, it asks for them all as soon as it
// reads the page. tests/js/shell.test.mjs fails while the list is stale.

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

const ENTRY = "/app/main.js";
const STATIC_IMPORT = /^\s*(?:import|export)\s(?:[^;"']*?\sfrom\s)?\s*"(\.{1,2}\/[^"]+)"/gm;
const PRELOADS = /( *)<!-- modulepreload: written by pwa\/tools\/shell-version\.mjs --write -->\n(?:\s*<link rel="modulepreload"[^>]*>\n)*/;

/** The URLs of the modules `entry` imports statically, directly or not (not the entry itself, not
 *  dynamic imports: lazy screens and the maps stay out of a cold start), breadth first. */
export function staticModules(pwaDir = PWA_DIR, entry = ENTRY) {
  const found = [entry];
  for (let i = 0; i < found.length; i += 1) {
    const source = readFileSync(shellFile(found[i], pwaDir), "utf8");
    for (const [, specifier] of source.matchAll(STATIC_IMPORT)) {
      const url = new URL(specifier, `https://app${found[i]}`).pathname;
      if (!found.includes(url)) found.push(url);
    }
  }
  return found.slice(1);
}

/** index.html with its modulepreload list made from the module graph on disk. */
export function withPreloads(indexSource, modules) {
  const match = PRELOADS.exec(indexSource);
  if (!match) throw new Error("index.html has no modulepreload marker");
  const indent = match[1];
  const links = modules.map((url) => `${indent}<link rel="modulepreload" href="${url}">\n`).join("");
  return indexSource.replace(PRELOADS, `${indent}<!-- modulepreload: written by pwa/tools/shell-version.mjs --write -->\n${links}`);
}

export function versionInSw(pwaDir = PWA_DIR) {
  const match = /const VERSION = "([^"]*)";/.exec(readFileSync(join(pwaDir, "sw.js"), "utf8"));
  return match ? match[1] : null;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes("--write")) {
    const index = join(PWA_DIR, "index.html");
    writeFileSync(index, withPreloads(readFileSync(index, "utf8"), staticModules()));
  }
  const version = shellVersion();
  if (process.argv.includes("--write")) {
    const path = join(PWA_DIR, "sw.js");
    writeFileSync(path, readFileSync(path, "utf8").replace(VERSION_LINE, `const VERSION = "${version}";`));
  }
  console.log(version);
}
