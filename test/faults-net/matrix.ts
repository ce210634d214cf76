/**
 * Which cases run: the whole matrix for `npm run faults`, a subset for CI.
 * Sizes are small on purpose: the faults, not the volume, are the test
 * (`npm run soak` is the volume test), and the machine is shared.
 */
export interface Row {
  scenario: string;
  provider: string;
  level: string;
  connections: number;
  concurrency: number;
  maxPayload: number;
}

const ALL_LEVELS = [
  'clean',
  'loss-1%',
  'loss-5%',
  'loss-20%',
  'rtt-50ms',
  'rtt-200ms',
  'reorder',
  'resets',
  'partition-2s',
  'kill-client',
  'kill-server',
];

function row(scenario: string, provider: string, level: string): Row {
  const lossy = level === 'loss-20%';
  return {
    scenario,
    provider,
    level,
    connections: scenario === 'deferred-drop' || scenario === 'decision-timeout' ? 6 : lossy ? 24 : 60,
    concurrency: 8,
    maxPayload: lossy ? 32 * 1024 : level.startsWith('kill') ? 1 << 20 : 256 * 1024,
  };
}

export function matrix(): Row[] {
  const rows: Row[] = [];
  for (const level of ALL_LEVELS) {
    rows.push(row('seed', 'framed', level));
    for (const provider of ['emulated', 'framed']) rows.push(row('soak', provider, level));
    for (const provider of ['emulated', 'framed']) rows.push(row('http', provider, level));
  }
  // A caller that half-closes while its request waits (the finding of half-close-while-deferred.test.ts).
  for (const level of ['clean', 'loss-5%', 'rtt-50ms'])
    for (const provider of ['emulated', 'framed']) rows.push(row('half-close', provider, level));
  // These two make their own fault (a partition while requests wait for a decision).
  for (const provider of ['emulated', 'framed']) {
    rows.push(row('deferred-drop', provider, 'clean'));
    rows.push(row('decision-timeout', provider, 'clean'));
  }
  rows.push(...nativeMatrix());
  return rows;
}

/**
 * native: node.exe under Wine on loopback (wine.ts: Wine's sockets live in
 * its wineserver's namespace, so no veth link, no nftables): the relay's
 * faults and killed peers. Loss, resets and partitions, and the two
 * scenarios that make a partition, need the link and are not run here.
 */
const NATIVE_LEVELS = ['clean', 'rtt-50ms', 'rtt-200ms', 'reorder', 'kill-client', 'kill-server'];

export function nativeMatrix(): Row[] {
  const rows: Row[] = [];
  for (const level of NATIVE_LEVELS) for (const scenario of ['soak', 'http']) rows.push(row(scenario, 'native', level));
  rows.push(row('half-close', 'native', 'clean'));
  return rows;
}

/** The native rows `npm run test:wine` runs (FAULTS_SHORT=native): each kind of fault once. */
export function nativeShortMatrix(): Row[] {
  const small = (r: Row): Row => ({ ...r, connections: Math.min(r.connections, 16) });
  return [
    small(row('soak', 'native', 'reorder')),
    small(row('http', 'native', 'rtt-50ms')),
    small(row('soak', 'native', 'kill-client')),
    small(row('soak', 'native', 'kill-server')),
  ];
}

/** The CI subset: each kind of fault once, each scenario once. */
export function shortMatrix(): Row[] {
  const small = (r: Row): Row => ({ ...r, connections: Math.min(r.connections, 16) });
  return [
    small(row('seed', 'framed', 'reorder')),
    small(row('soak', 'emulated', 'loss-5%')),
    // emulated withdrew half-closed callers before the fix half-close-while-deferred.test.ts records.
    small(row('half-close', 'emulated', 'clean')),
    small(row('soak', 'framed', 'resets')),
    small(row('http', 'emulated', 'rtt-50ms')),
    small(row('soak', 'framed', 'kill-client')),
    small(row('soak', 'emulated', 'kill-server')),
    small(row('soak', 'framed', 'partition-2s')),
    row('deferred-drop', 'framed', 'clean'),
    row('decision-timeout', 'emulated', 'clean'),
  ];
}
