// Copies the courier phone's third-party browser code from node_modules into
// postal/static/vendor/, each with its licence, so that running the app needs no npm and
// nothing is loaded from a CDN (the pages' CSP allows scripts from 'self' only).
//
//   cd frontend && npm ci && npm run build      (then commit postal/static/vendor/)
//
// Both libraries ship self-contained UMD builds (one global each), so copying is the whole
// build: no bundler, nothing transpiled. @zxing/browser's UMD file includes @zxing/library
// and ts-custom-error, whose licences are copied beside it.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const vendor = join(here, "..", "postal", "static", "vendor");

const PACKAGES = [
  {
    dir: "signature_pad",
    files: [["signature_pad/dist/signature_pad.umd.min.js", "signature_pad.umd.min.js"]],
    licences: [["signature_pad/LICENSE", "LICENSE"]],
    bundled: ["signature_pad"],
  },
  {
    dir: "zxing",
    files: [["@zxing/browser/umd/zxing-browser.min.js", "zxing-browser.min.js"]],
    licences: [
      ["@zxing/browser/LICENSE", "LICENSE"],
      ["@zxing/library/LICENSE", "LICENSE.zxing-library"],
      ["ts-custom-error/LICENSE", "LICENSE.ts-custom-error"],
    ],
    bundled: ["@zxing/browser", "@zxing/library", "ts-custom-error"],
  },
];

function version(name) {
  return JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version;
}

rmSync(vendor, { recursive: true, force: true });
const lines = ["# Vendored browser code", "",
  "Built by `frontend/build.mjs` from the npm packages pinned in `frontend/package-lock.json`.",
  "Do not edit: change the versions in `frontend/package.json` and run `npm run build`.", "",
  "| folder | packages (version) |", "| --- | --- |"];
for (const pkg of PACKAGES) {
  const out = join(vendor, pkg.dir);
  mkdirSync(out, { recursive: true });
  for (const [from, to] of pkg.files) {
    // the source maps stay behind: drop the comment that would send devtools looking for them
    const code = readFileSync(join(modules, from), "utf8").replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
    writeFileSync(join(out, to), code);
  }
  for (const [from, to] of pkg.licences) copyFileSync(join(modules, from), join(out, to));
  lines.push(`| ${pkg.dir}/ | ${pkg.bundled.map((n) => `${n} ${version(n)}`).join(", ")} |`);
}
writeFileSync(join(vendor, "README.md"), lines.join("\n") + "\n");
console.log(`vendored ${PACKAGES.length} packages into ${vendor}`);
