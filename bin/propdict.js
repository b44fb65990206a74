#!/usr/bin/env node
// The package bin: runs the TypeScript CLI on the Node.js the project pins.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
let nodeBin = process.execPath;
try {
  nodeBin = join(dirname(require.resolve('node/package.json')), 'bin', 'node');
} catch {
  // the pinned runtime is a dev dependency; fall back to the Node running this script
}
const result = spawnSync(nodeBin, [join(here, '..', 'src', 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
