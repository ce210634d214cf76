// Findings the linter reported on its first run in files other branches
// were rewriting at the time (the socket facade, the providers, the framed
// data path, bench, tests). Each entry turns one rule off for the files
// listed, nowhere else, so new code meets every rule. Fix the findings in a
// file, remove it here, and `npm run lint` keeps it clean. Most of the
// no-unnecessary-type-assertion ones are `npx eslint --fix`-able.

export const pending = [
  { files: ['bench/aggregate.ts', 'bench/cases.ts', 'bench/floor-impl.ts', 'bench/idle.ts', 'bench/run.ts', 'bench/wine-summary.ts', 'examples/async-decision.ts', 'lib/decision.ts', 'lib/emulated/handle.ts', 'lib/emulated/protocols.ts', 'lib/errors.ts', 'lib/framed/frames.ts', 'lib/framed/handle.ts', 'lib/framed/protocols.ts', 'lib/framed/qos.ts', 'lib/socket.ts', 'lib/tcp/backlog.ts', 'lib/tcp/write.ts', 'test/examples.test.ts', 'test/faults.test.ts', 'test/framed-frames.test.ts', 'test/fuzz/listener-properties.ts', 'test/fuzz/protocol-properties.ts', 'test/helpers/markdown-snippets.ts', 'test/hostile.test.ts', 'test/interop/peer.ts', 'test/soak/main.ts'], rules: { '@typescript-eslint/no-unnecessary-type-assertion': 'off' } },
  { files: ['bench/floor-impl.ts', 'bench/impls.ts', 'lib/emulated/handle.ts', 'lib/framed/handle.ts', 'test/fuzz/protocol-properties.ts', 'test/native-addon.test.ts'], rules: { '@typescript-eslint/unbound-method': 'off' } },
  { files: ['lib/buffers.ts', 'lib/decision.ts', 'test/conformance/lifecycle.test.ts', 'test/probe/expectations.ts'], rules: { '@typescript-eslint/no-base-to-string': 'off' } },
  { files: ['lib/emulated/index.ts', 'test/faults.test.ts'], rules: { '@typescript-eslint/prefer-promise-reject-errors': 'off' } },
  { files: ['bench/cases.ts', 'bench/idle.ts', 'lib/native/load.ts'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  { files: ['lib/native/load.ts'], rules: { 'preserve-caught-error': 'off' } },
  { files: ['bench/wine-native.js', 'lib/server.ts'], rules: { '@typescript-eslint/no-unused-vars': 'off' } },
  { files: ['bench/loopback.ts'], rules: { '@typescript-eslint/require-await': 'off' } },
  { files: ['lib/socket.ts'], rules: { '@typescript-eslint/no-unsafe-declaration-merging': 'off' } },
  { files: ['test/conformance/accept.test.ts'], rules: { '@typescript-eslint/no-unsafe-assignment': 'off' } },
  { files: ['test/conformance/accept.test.ts'], rules: { '@typescript-eslint/no-unsafe-member-access': 'off' } },
  { files: ['test/fuzz/listener-properties.ts'], rules: { 'no-useless-assignment': 'off' } },
  { files: ['examples/seed-scenario.ts'], rules: { '@typescript-eslint/no-misused-promises': 'off' } },
  { files: ['test/ecosystem.test.ts'], rules: { 'prefer-const': 'off' } },
  // lib/socket.ts:26 disables @typescript-eslint/unified-signatures, a rule this
  // configuration does not run: the comment should go (the file is being rewritten).
  { files: ['lib/socket.ts'], linterOptions: { reportUnusedDisableDirectives: 'off' } },
];
