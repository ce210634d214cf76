/**
 * The top self-time frames of a V8 .cpuprofile (from `node --cpu-prof`):
 *
 *   node out-bench/top.js prof/CPU.*.cpuprofile [count=25]
 */
import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const files = process.argv.slice(2).filter((a) => a.endsWith('.cpuprofile'));
const count = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 25);
for (const file of files) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    const f = node.callFrame;
    const where = f.url
      ? `${f.url.replace(/^.*\/(node_modules|dist|out-bench|lib)\//, '$1/').replace(/^node:/, '')}:${f.lineNumber + 1}`
      : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  process.stdout.write(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n`);
  for (const [key, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    process.stdout.write(
      `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${key}\n`,
    );
  }
}
