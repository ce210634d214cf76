/**
 * Two network namespaces joined by a veth pair, with addresses only inside
 * them (10.77.0.1 caller side, 10.77.0.2 server side: private to the pair,
 * so parallel runs never collide), and the nftables faults on the server
 * side's link: random loss both ways, random and targeted resets, and a
 * blackhole (partition) switched on and off.
 *
 * Namespaces are deleted by `destroy()`, and by an exit hook for whatever a
 * crash or a signal leaves behind: never left on the machine.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export const CALLER_ADDRESS = '10.77.0.1';
export const SERVER_ADDRESS = '10.77.0.2';
const LINK_TIMEOUT_MS = 10_000;

const live = new Set<string>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const cleanup = (): void => {
    for (const ns of live) spawnSync('ip', ['netns', 'del', ns], { timeout: LINK_TIMEOUT_MS });
    live.clear();
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanup();
      process.kill(process.pid, sig);
    });
  }
}

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, timeout: LINK_TIMEOUT_MS, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

/** Why the harness cannot run here, or null when it can (checked by trying, once). */
let why: string | null | undefined;
export function unavailableReason(): string | null {
  if (why !== undefined) return why;
  why = probe();
  return why;
}
function probe(): string | null {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root (ip netns, nft)';
  for (const [tool, args] of [
    ['ip', ['-V']],
    ['nft', ['--version']],
  ] as const) {
    const r = spawnSync(tool, [...args], { timeout: LINK_TIMEOUT_MS });
    if (r.error || r.status !== 0)
      return `${tool} is not installed (apt-get install ${tool === 'ip' ? 'iproute2' : 'nftables'})`;
  }
  let pair: LinkPair | null = null;
  try {
    pair = LinkPair.create();
    pair.setLoss(1);
    pair.clearFaults();
    return null;
  } catch (e) {
    const err = e as { stderr?: Buffer; message?: string };
    return `cannot make namespaces or nftables rules here: ${(err.stderr?.toString() || err.message || String(e)).trim().split('\n')[0]}`;
  } finally {
    pair?.destroy();
  }
}

let serial = 0;

export class LinkPair {
  private constructor(
    readonly caller: string,
    readonly server: string,
  ) {}

  static create(): LinkPair {
    hookExit();
    const base = `ws2f${process.pid}n${serial++}`;
    const pair = new LinkPair(`${base}c`, `${base}s`);
    try {
      for (const ns of [pair.caller, pair.server]) {
        run('ip', ['netns', 'add', ns]);
        live.add(ns);
      }
      run('ip', [
        'link',
        'add',
        'wc',
        'netns',
        pair.caller,
        'type',
        'veth',
        'peer',
        'name',
        'ws',
        'netns',
        pair.server,
      ]);
      run('ip', ['-n', pair.caller, 'addr', 'add', `${CALLER_ADDRESS}/24`, 'dev', 'wc']);
      run('ip', ['-n', pair.server, 'addr', 'add', `${SERVER_ADDRESS}/24`, 'dev', 'ws']);
      for (const [ns, dev] of [
        [pair.caller, 'wc'],
        [pair.server, 'ws'],
      ] as const) {
        run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
        run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      }
    } catch (e) {
      pair.destroy();
      throw e;
    }
    return pair;
  }

  /** The command line that runs `argv` inside the namespace. */
  exec(ns: string, argv: string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', ns, ...argv]];
  }

  private nft(rules: string): void {
    run('ip', ['netns', 'exec', this.server, 'nft', '-f', '-'], rules);
  }

  private table(input: string[], output: string[]): void {
    this.clearFaults();
    this.nft(
      [
        'table inet faults {',
        '  chain input {',
        '    type filter hook input priority 0; policy accept;',
        ...input.map((r) => `    ${r}`),
        '  }',
        '  chain output {',
        '    type filter hook output priority 0; policy accept;',
        ...output.map((r) => `    ${r}`),
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  }

  /** Drops `percent`% of packets each way on the link. */
  setLoss(percent: number): void {
    this.table(
      [`iifname "ws" numgen random mod 100 < ${percent} drop`],
      [`oifname "ws" numgen random mod 100 < ${percent} drop`],
    );
  }

  /**
   * Resets: `perMille`‰ of incoming data segments at random, and (targeted)
   * every connection whose caller port is a multiple of 8 at its
   * `nth` segment from the caller. The reset goes to the caller; the server
   * learns when it next sends (the caller's kernel answers with a reset).
   */
  setResets(perMille: number, nth: number): void {
    this.table(
      [
        `iifname "ws" tcp flags & (syn | rst) == 0 numgen random mod 1000 < ${perMille} reject with tcp reset`,
        `iifname "ws" tcp sport & 7 == 0 ct original packets == ${nth} reject with tcp reset`,
      ],
      [],
    );
  }

  /** A partition: every packet either way is dropped until clearFaults(). */
  setBlackhole(): void {
    this.table(['iifname "ws" drop'], ['oifname "ws" drop']);
  }

  clearFaults(): void {
    run('ip', ['netns', 'exec', this.server, 'nft', 'flush', 'ruleset']);
  }

  destroy(): void {
    for (const ns of [this.caller, this.server]) {
      if (!live.has(ns)) continue;
      spawnSync('ip', ['netns', 'del', ns], { timeout: LINK_TIMEOUT_MS });
      live.delete(ns);
    }
  }
}
