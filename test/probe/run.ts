/**
 * The probe's records on this machine, for tests on Windows and under Wine:
 * read from WINSOCK2_PROBE_OUTPUT (test-wine.sh runs the probe first), else
 * produced by running the built probe once. null where there is no ws2_32.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Observations, parseProbeOutput } from './expectations';

const root = path.join(__dirname, '..', '..', '..');

/** Where scripts/build-probe.sh (mingw) and test/probe/CMakeLists.txt (MSVC) put the probe. */
export const probeExecutables = [
  path.join(root, 'build', 'probe', 'winsock-probe.exe'),
  path.join(root, 'build', 'probe-msvc', 'Release', 'winsock-probe.exe'),
  path.join(root, 'build', 'probe-msvc', 'winsock-probe.exe'),
];

let cached: Observations | undefined;

/** Runs (once) or reads the probe; throws with how to build it when it is missing on win32. */
export function probeOnThisMachine(): Observations {
  if (cached) return cached;
  const given = process.env['WINSOCK2_PROBE_OUTPUT'];
  if (given) {
    cached = parseProbeOutput(fs.readFileSync(given, 'utf8'));
    return cached;
  }
  const exe = probeExecutables.find((p) => fs.existsSync(p));
  if (!exe) {
    throw new Error(
      'the ws2_32 probe is not built: bash scripts/build-probe.sh (mingw-w64) or ' +
        'cmake -S test/probe -B build/probe-msvc && cmake --build build/probe-msvc --config Release',
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws2-probe-'));
  const out = path.join(dir, 'probe.jsonl');
  // Under Wine a child's stdout must be a file, not a pipe.
  const log = fs.openSync(path.join(dir, 'stdout.txt'), 'w');
  const r = spawnSync(exe, ['--out', out], { stdio: ['ignore', log, log], timeout: 180_000 });
  fs.closeSync(log);
  const text = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    /* Wine may hold a file a moment */
  }
  if (r.status !== 0) throw new Error(`the probe exited with ${String(r.status)} ${r.error?.message ?? ''}: ${text}`);
  cached = parseProbeOutput(text);
  return cached;
}
