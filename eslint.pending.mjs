// Findings the linter reported on its first run (2026-12-05) in files other
// branches were rewriting at the time (the socket facade, the providers, the
// framed data path, bench, tests). Each entry turns one rule off for the
// files listed, nowhere else, so new code meets every rule. Fix a file's
// findings, drop it here, and `npm run lint` keeps it clean. The
// no-unnecessary-type-assertion ones are `npx eslint --fix`-able.

export const pending = [
  {
    rules: { '@typescript-eslint/no-unnecessary-type-assertion': 'off' },
    files: [
      'bench/aggregate.ts',
      'bench/cases.ts',
      'bench/floor-impl.ts',
      'bench/idle.ts',
      'bench/run.ts',
      'bench/wine-summary.ts',
      'examples/async-decision.ts',
      'lib/decision.ts',
      'lib/emulated/protocols.ts',
      'lib/emulated/setup.ts',
      'lib/errors.ts',
      'lib/framed/frames.ts',
      'lib/framed/handle.ts',
      'lib/framed/protocols.ts',
      'lib/framed/qos.ts',
      'lib/handle-socket.ts',
      'lib/net.ts',
      'lib/tcp/backlog.ts',
      'lib/tcp/write.ts',
      'test/examples.test.ts',
      'test/faults.test.ts',
      'test/framed-frames.test.ts',
      'test/fuzz/listener-properties.ts',
      'test/fuzz/protocol-properties.ts',
      'test/helpers/markdown-snippets.ts',
      'test/hostile.test.ts',
      'test/interop/peer.ts',
      'test/soak/main.ts',
    ],
  },
  {
    rules: { '@typescript-eslint/unbound-method': 'off' },
    files: [
      'bench/floor-impl.ts',
      'bench/impls.ts',
      'lib/framed/handle.ts',
      'lib/handle-socket.ts',
      'test/fuzz/protocol-properties.ts',
      'test/native-addon.test.ts',
    ],
  },
  {
    rules: { '@typescript-eslint/no-base-to-string': 'off' },
    files: [
      'lib/decision.ts',
      'lib/validation.ts',
      'test/conformance/lifecycle.test.ts',
      'test/native-addon.test.ts',
      'test/probe/expectations.ts',
    ],
  },
  {
    rules: { '@typescript-eslint/no-require-imports': 'off' },
    files: ['bench/cases.ts', 'bench/idle.ts', 'lib/native/load.ts', 'test/package.test.ts'],
  },
  {
    rules: { '@typescript-eslint/prefer-promise-reject-errors': 'off' },
    files: ['lib/emulated/index.ts', 'lib/server.ts', 'test/faults.test.ts'],
  },
  {
    rules: { 'no-useless-assignment': 'off' },
    files: ['lib/net.ts', 'test/fuzz/listener-properties.ts'],
  },
  {
    rules: { '@typescript-eslint/require-await': 'off' },
    files: ['bench/loopback.ts'],
  },
  {
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
    files: ['bench/wine-native.js'],
  },
  {
    rules: { '@typescript-eslint/no-misused-promises': 'off' },
    files: ['examples/seed-scenario.ts'],
  },
  {
    rules: { 'preserve-caught-error': 'off' },
    files: ['lib/native/load.ts'],
  },
  {
    rules: { '@typescript-eslint/no-unsafe-declaration-merging': 'off' },
    files: ['lib/socket.ts'],
  },
  {
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
    files: ['test/conformance/accept.test.ts'],
  },
  {
    rules: { '@typescript-eslint/no-unsafe-member-access': 'off' },
    files: ['test/conformance/accept.test.ts'],
  },
  {
    rules: { 'prefer-const': 'off' },
    files: ['test/ecosystem.test.ts'],
  },
  // lib/socket.ts disables @typescript-eslint/unified-signatures, a rule this
  // configuration does not run: that comment should go.
  { files: ['lib/socket.ts'], linterOptions: { reportUnusedDisableDirectives: 'off' } },
];
