/**
 * Replay scripts (test/probe/replay/*.json): documented Windows (and Wine)
 * sequences played through lib/native with the stand-in addon
 * (stand-in-ws2.ts). A script names the platform facts it assumes, the
 * probe observations it replays (checked against that platform's
 * expected-*.json, so a script cannot drift from what the probe records),
 * the condition function's answers, and steps with expectations.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { strict as assert } from 'node:assert';
import {
  isNetConnection,
  type Connection,
  type ConditionVerdict,
  type ListenerCallbacks,
  type RawRequest,
  type SocketHandle,
} from '../../lib/provider';
import type { SocketAddress } from '../../lib/types';
import type { WinsockError } from '../../lib/errors';
import { NativeProvider } from '../../lib/native/provider';
import { NativeProviderListener } from '../../lib/native/listener';
import { RejectionMemory } from '../../lib/native/rejections';
import { loadExpectations, satisfies, type Value } from '../probe/expectations';
import { StandInWs2, VirtualClock, type Ws2Facts } from './stand-in-ws2';

export type Answer = 'accept' | 'reject' | 'defer';

/** What a step checks; every field is optional. */
export interface Expect {
  /** The listener's capabilities.conditionalAccept (SO_CONDITIONAL_ACCEPT read back). */
  conditionalAccept?: boolean;
  /** Each caller's connect(): "pending", "connected", or the WinsockError code it failed with. */
  clients?: Record<string, string>;
  /** The callers the facade's condition was asked about, in order. */
  offered?: string[];
  /** The callers WSAAccept's condition function ran for (retries refused without asking included). */
  conditionCalls?: string[];
  /** Every WSAAccept result so far, in the probe's notation ("held": an acceptHeld() call). */
  wsaaccept?: string[];
  /** How many accepts were applied off the JS thread (acceptHeld), so far. */
  heldAccepts?: number;
  /** [caller, reason] of every request the listener refused without asking. */
  refused?: [string, string][];
  /** [caller, code] of every withdrawn request. */
  withdrawn?: [string, string][];
  /** The callers accepted, in order. */
  connections?: string[];
  /** Listener errors (codes); an unlisted error fails the script at its end. */
  errors?: string[];
}

export type Step =
  | { listen: { conditional: boolean } }
  | { connect: string }
  | { reset: string }
  | { retry: true }
  | { advance: number }
  | { close: true }
  | { expect: Expect };

export interface ReplayScript {
  title: string;
  /** Where the sequence is documented (D1.. as in WINSOCK-BEHAVIOUR.md, KB, probe ids). */
  sources: string[];
  /** Which expected-<platform>.json the probe values below are checked against. */
  platform: 'windows' | 'wine';
  facts: Ws2Facts;
  /** "id.key" -> the observation this script plays (must satisfy expected-<platform>.json). */
  probe: Record<string, Value>;
  /** The condition function's answers, in order. */
  answers: Answer[];
  steps: Step[];
  /** True for the script that stalled the listener before issue 22/23's fix. */
  regression?: string;
}

export const SCRIPT_DIR = path.join(__dirname, '..', '..', '..', 'test', 'probe', 'replay');

export function loadScripts(): { file: string; script: ReplayScript }[] {
  return fs
    .readdirSync(SCRIPT_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({
      file,
      script: JSON.parse(fs.readFileSync(path.join(SCRIPT_DIR, file), 'utf8')) as ReplayScript,
    }));
}

/** Differences between a script's probe values and its platform's expected-*.json. */
export function probeDisagreements(script: ReplayScript): string[] {
  const expected = loadExpectations(script.platform);
  const out: string[] = [];
  for (const [ref, value] of Object.entries(script.probe)) {
    const dot = ref.lastIndexOf('.');
    const id = ref.slice(0, dot);
    const key = ref.slice(dot + 1);
    const want = expected[id]?.[key];
    if (want === undefined) out.push(`${ref}: not in expected-${script.platform}.json`);
    else if (!satisfies(value, want))
      out.push(
        `${ref}: the script plays ${JSON.stringify(value)}, expected-${script.platform}.json says ${JSON.stringify(want)}`,
      );
  }
  return out;
}

/** Turns on the event loop until the stand-in and the listener have nothing left to do. */
/** The replays run the addon data path: every connection is a SocketHandle. */
function addonHandle(c: Connection): SocketHandle {
  if (isNetConnection(c)) throw new Error('replay: a NetConnection on the addon data path');
  return c;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** Runs a script; throws (assert) at the first expectation that fails. */
export async function play(script: ReplayScript): Promise<void> {
  const clock = new VirtualClock();
  const ws2 = new StandInWs2(script.facts, clock);
  const provider = new NativeProvider(ws2);
  const answers = [...script.answers];
  const nameOf = (address: SocketAddress): string => {
    for (const caller of ws2.callers.values()) if (caller.address.port === address.port) return caller.name;
    return `?${address.port}`;
  };
  const seen = {
    offered: [] as string[],
    refused: [] as [string, string][],
    withdrawn: [] as [string, string][],
    connections: [] as string[],
    errors: [] as string[],
    clients: {} as Record<string, string>,
  };
  const handles: SocketHandle[] = [];
  const states = new Set<string>();
  const callbacks: ListenerCallbacks = {
    condition(request: RawRequest): ConditionVerdict {
      seen.offered.push(nameOf(request.callerId));
      // Asked more often than the script answers: reject (the offered list shows it).
      const answer = answers.shift() ?? 'reject';
      return answer === 'accept' ? { action: 'accept', calleeData: null, qos: null } : { action: answer };
    },
    connection(handle: SocketHandle, request: RawRequest): void {
      handles.push(handle);
      seen.connections.push(nameOf(request.callerId));
    },
    refused(request: RawRequest, reason: string): void {
      seen.refused.push([nameOf(request.callerId), reason]);
    },
    withdrawn(request: RawRequest, error: WinsockError): void {
      seen.withdrawn.push([nameOf(request.callerId), error.code]);
    },
    clientError(): void {
      /* not played by these scripts */
    },
    error(error: WinsockError): void {
      seen.errors.push(error.code);
    },
  };
  let listener = null as NativeProviderListener | null;
  let port = 0;
  for (const [index, step] of script.steps.entries()) {
    const where = `${script.title}, step ${index + 1} ${JSON.stringify(step)}`;
    if ('listen' in step) {
      const native = ws2.listen('127.0.0.1', 0, 128, step.listen.conditional);
      listener = new NativeProviderListener(native, callbacks, new RejectionMemory(clock.now));
      port = listener.address.port;
      listener.start();
    } else if ('connect' in step) {
      const name = step.connect;
      seen.clients[name] = 'pending';
      states.add('pending');
      ws2.nextCallerName = name;
      const attempt = provider.connect({
        host: '127.0.0.1',
        port,
        callerData: null,
        sqos: null,
        gqos: null,
        timeout: 0,
        signal: null,
        maxCalleeData: 0,
        maxDisconnectData: 0,
        mode: 'stream',
      });
      attempt.then(
        (h) => {
          handles.push(addonHandle(h));
          seen.clients[name] = 'connected';
          states.add('connected');
        },
        (e: WinsockError) => {
          seen.clients[name] = e.code;
          states.add(e.code);
        },
      );
    } else if ('reset' in step) {
      ws2.resetCaller(step.reset);
    } else if ('retry' in step) {
      assert.ok(listener, `${where}: no listener`);
      listener.retry();
    } else if ('advance' in step) {
      clock.ms += step.advance;
    } else if ('close' in step) {
      assert.ok(listener, `${where}: no listener`);
      await listener.close();
    } else {
      const e = step.expect;
      if (e.conditionalAccept !== undefined)
        assert.equal(listener?.capabilities.conditionalAccept, e.conditionalAccept, `${where}: conditionalAccept`);
      if (e.clients)
        for (const [name, state] of Object.entries(e.clients))
          assert.equal(seen.clients[name], state, `${where}: client ${name}`);
      if (e.offered) assert.deepEqual(seen.offered, e.offered, `${where}: offered to the condition`);
      if (e.conditionCalls)
        assert.deepEqual(ws2.conditionCalls, e.conditionCalls, `${where}: WSAAccept condition calls`);
      if (e.wsaaccept) assert.deepEqual(ws2.log, e.wsaaccept, `${where}: WSAAccept results`);
      if (e.heldAccepts !== undefined)
        assert.equal(ws2.log.filter((r) => r === 'held').length, e.heldAccepts, `${where}: held accepts`);
      if (e.refused) assert.deepEqual(seen.refused, e.refused, `${where}: refused`);
      if (e.withdrawn) assert.deepEqual(seen.withdrawn, e.withdrawn, `${where}: withdrawn`);
      if (e.connections) assert.deepEqual(seen.connections, e.connections, `${where}: connections`);
      if (e.errors) assert.deepEqual(seen.errors, e.errors, `${where}: listener errors`);
    }
    await settle();
  }
  const listed = script.steps.some((s) => 'expect' in s && s.expect.errors !== undefined);
  if (!listed) assert.deepEqual(seen.errors, [], `${script.title}: the listener failed`);
  for (const h of handles) h.close();
  await listener?.close();
  assert.equal(ws2.open, 0, `${script.title}: the stand-in still has open sockets`);
  // Every probe value the script claims to replay was really played.
  // (Client states use the probe's words: "pending", "connected".)
  const played = new Set<Value>([...ws2.log, script.facts.conditionalOption, ...states]);
  for (const [ref, value] of Object.entries(script.probe)) {
    if (typeof value === 'string')
      assert.ok(played.has(value), `${script.title}: claims ${ref} = ${value} but never played it`);
  }
}
