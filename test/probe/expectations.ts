/**
 * The raw ws2_32 probe's output (test/probe/winsock-probe.cc, one JSON record
 * per line) and the checked-in expectations it is compared with
 * (expected-wine.json, expected-windows.json; docs/winsock-probe.md).
 *
 * An expectation is the exact observed value, or "record" (any value: the
 * documents leave it open until a real Windows run decides), or
 * { "oneOf": [...] } (the documents allow each of these).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Value = string | number | boolean | null;
export type Observations = Record<string, Record<string, Value>>;
export type Expectation = Value | { oneOf: Value[] };
export type Expectations = Record<string, Record<string, Expectation>>;

export const RECORD = 'record';

/** Parses the probe's output; a watchdog record or a malformed line is an error. */
export function parseProbeOutput(text: string): Observations {
  const out: Observations = {};
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const rec = JSON.parse(line) as { id?: unknown; observed?: unknown; error?: unknown };
    if (typeof rec.id !== 'string') throw new Error(`probe output: a record without an id: ${line}`);
    if (rec.error !== undefined)
      throw new Error(`probe output: assertion ${rec.id} failed to run: ${String(rec.error)}`);
    if (typeof rec.observed !== 'object' || rec.observed === null)
      throw new Error(`probe output: ${rec.id} has no observations`);
    out[rec.id] = rec.observed as Record<string, Value>;
  }
  return out;
}

/** True when `value` satisfies `expected`. */
export function satisfies(value: Value, expected: Expectation): boolean {
  if (expected === RECORD) return true;
  if (expected !== null && typeof expected === 'object') return expected.oneOf.some((v) => v === value);
  return value === expected;
}

/**
 * Every difference between what the probe observed and what is expected, one
 * line each: a moved value, an observation the expectations do not list (the
 * probe grew: record it), or an expected one the probe did not make.
 */
export function compare(observed: Observations, expected: Expectations): string[] {
  const diffs: string[] = [];
  for (const id of Object.keys(expected)) {
    const seen = observed[id];
    if (!seen) {
      diffs.push(`${id}: no record (the probe stopped or skipped it)`);
      continue;
    }
    const want = expected[id] ?? {};
    for (const key of Object.keys(want)) {
      if (!(key in seen)) diffs.push(`${id}.${key}: not observed`);
      else if (!satisfies(seen[key] ?? null, want[key] ?? null)) {
        diffs.push(`${id}.${key}: observed ${JSON.stringify(seen[key])}, expected ${JSON.stringify(want[key])}`);
      }
    }
    for (const key of Object.keys(seen)) {
      if (!(key in want)) diffs.push(`${id}.${key}: observed ${JSON.stringify(seen[key])} but not expected (add it)`);
    }
  }
  for (const id of Object.keys(observed)) {
    if (!(id in expected)) diffs.push(`${id}: observed but not expected (add it)`);
  }
  return diffs;
}

/**
 * The (id, key) pairs where a platform's exact value breaks the other
 * platform's expectation: each must be a documented difference.
 */
export function differences(actual: Expectations, documented: Expectations): string[] {
  const out: string[] = [];
  for (const id of Object.keys(documented)) {
    for (const key of Object.keys(documented[id] ?? {})) {
      const value = actual[id]?.[key];
      const want = documented[id]?.[key] ?? null;
      if (value === undefined || (value !== null && typeof value === 'object')) continue;
      if (!satisfies(value, want)) out.push(`${id}.${key}`);
    }
  }
  return out;
}

const dir = path.join(__dirname, '..', '..', '..', 'test', 'probe');

/** A checked-in expectation file: 'wine' or 'windows'. */
export function loadExpectations(platform: 'wine' | 'windows'): Expectations {
  return JSON.parse(fs.readFileSync(path.join(dir, `expected-${platform}.json`), 'utf8')) as Expectations;
}

/** What the probe observed under Wine 8 (expected-wine.json is exact: npm run test:wine checks it). */
export function wineObserved(id: string, key: string): Value {
  const value = loadExpectations('wine')[id]?.[key];
  if (value === undefined || (value !== null && typeof value === 'object') || value === RECORD) {
    throw new Error(`expected-wine.json has no exact value for ${id}.${key}`);
  }
  return value;
}

/**
 * What a socket reading under Wine reports when the peer resets it, as the
 * probe recorded (assertion 20): a receive pending when the RST arrives
 * fails (WSAECONNRESET), one issued after it returns 0 (the stream's 'end').
 * Which one a test sees depends on whether a receive was posted in time.
 */
export function wineOutcomesAfterReset(): string[] {
  const outcomes: string[] = [];
  if (wineObserved('20', 'overlapped_wsa_result') === 'error:10054') outcomes.push('WSAECONNRESET');
  if (wineObserved('20', 'recv_after') === 'eof') outcomes.push('end');
  return outcomes;
}
