// The npm registry this project builds against lacks some platform-specific optional packages
// (e.g. @bufbuild/buf-darwin-arm64), so `npm install` writes a lock without their entries and
// `npm ci` then refuses it as out of sync. This restores the entries npm would write with a full
// registry (os/cpu-gated, so no platform here ever fetches them). Run after every `npm install`:
//   node .ci/lock-platforms.mjs
import fs from "node:fs";
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
const P = lock.packages;
const plat = { "darwin-arm64": ["darwin","arm64"], "darwin-x64": ["darwin","x64"], "linux-armv7": ["linux","arm"], "linux-arm": ["linux","arm"], "linux-arm64": ["linux","arm64"], "linux-aarch64": ["linux","arm64"], "linux-x64": ["linux","x64"], "win32-arm64": ["win32","arm64"], "win32-x64": ["win32","x64"] };
let added = [];
for (const [path, pkg] of Object.entries({ ...P })) {
  for (const [dep, ver] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = "node_modules/" + dep;
    if (P[key]) continue;
    const suffix = Object.keys(plat).find((s) => dep.endsWith("-" + s));
    if (!suffix) throw new Error("unknown platform " + dep);
    const [os, cpu] = plat[suffix];
    P[key] = { version: ver, cpu: [cpu], dev: pkg.dev, optional: true, os: [os] };
    added.push(key);
  }
}
lock.packages = Object.fromEntries(Object.entries(P).sort(([a],[b]) => a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0));
fs.writeFileSync("package-lock.json", JSON.stringify(lock, null, 2) + "\n");
console.log(added.join("\n"));
