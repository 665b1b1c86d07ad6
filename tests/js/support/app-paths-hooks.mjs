// Module resolution hook (see app-paths.mjs): "/app/x.js" is pwa/app/x.js.
const PWA = new URL("../../../pwa/", import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith("/app/")) return nextResolve(new URL(specifier.slice(1), PWA).href, context);
  return nextResolve(specifier, context);
}
