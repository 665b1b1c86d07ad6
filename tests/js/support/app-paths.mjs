// The board's modules import the app's by the path the browser finds them at, /app/... on this
// origin (backend/pwa.py serves pwa/ at the site root). This teaches Node the same: import this
// module, then import the board's modules dynamically (static imports are resolved before any
// module runs, so before this hook is in place).
import { register } from "node:module";

register("./app-paths-hooks.mjs", import.meta.url);
