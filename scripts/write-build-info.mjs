// Records the git commit the build comes from in dist/src/build-info.json, for `cutover --version` in an installed
// tarball (no .git there). Run by `npm run build` after tsc and by `prepack`, so `npm pack` records the commit of
// what it packs; it needs the compiled CLI, which it reuses rather than repeating its logic.
import fs from 'node:fs';

const compiled = new URL('../dist/src/cli/build-info.js', import.meta.url);
if (!fs.existsSync(compiled)) {
  console.error('write-build-info: dist/ is missing: run `npm run build` first (npm pack packs dist/ as it is)');
  process.exit(1);
}
const { formatBuildInfo, writeBuildInfo } = await import(compiled.href);
// On stderr: `npm pack --json` prints its JSON on stdout, and lifecycle scripts share it.
console.error(`recorded ${formatBuildInfo(writeBuildInfo())}`);
