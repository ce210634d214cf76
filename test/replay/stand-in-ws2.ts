/**
 * A scripted stand-in for the native addon (lib/native/addon.ts), so that
 * lib/native runs here, on every commit, through the Windows-only paths
 * real Windows takes and Wine cannot show. It is typed against the addon's
 * declared interface (NativeAddon), so a change there breaks it at compile
 * time rather than letting it drift.
 *
 * It models one host's ws2_32 for loopback TCP, as far as WSAAccept and the
 * caller's connect can tell, with the platform facts a replay script gives
 * (test/probe/replay/*.json, each tied to the probe's expected-*.json):
 * - whether setsockopt(SO_CONDITIONAL_ACCEPT) before listen takes ("ok") or
 *   fails (Wine's "error:10042"; "error:10022" where Windows sees the option
 *   set after listen);
 * - with the option, a caller's SYN is held until the condition decides: its
 *   connect is pending; CF_ACCEPT completes it; CF_REJECT resets the SYN and
 *   the caller re-sends it `synRetries` times, `synRetryMs` apart, each a new
 *   request from the same address and port (KB175523), before its connect
 *   fails with WSAECONNREFUSED;
 * - without it, the handshake completes first (the caller's connect resolves
 *   at once) and a rejected caller is closed;
 * - a caller that resets while its request waits makes the next WSAAccept
 *   fail with `goneError` (WSAECONNRESET or WSAEACCES as documented, Wine's
 *   WSAENOTCONN) and removes the request;
 * - CF_DEFER answers WSATRY_AGAIN and leaves the request at the head;
 *   acceptHeld() then answers CF_ACCEPT for it, its result a turn later.
 * Every WSAAccept result is logged in the probe's notation ("ok",
 * "error:<n>") so a script can say which probe observation it replays.
 */
import type { RawProtocolEntry } from '../../lib/service-flags';
import type { Qos, SocketAddress } from '../../lib/types';
import {
  CF_ACCEPT,
  CF_DEFER,
  CF_REJECT,
  type NativeAddon,
  type NativeCondition,
  type NativeListener,
  type NativeListenerOwner,
  type NativeSocket,
  type NativeSocketOwner,
  type NativeStats,
  type NativeVerdictCode,
} from '../../lib/native/addon';

const WSAECONNREFUSED = 10061;
const WSAECONNRESET = 10054;
const WSAEWOULDBLOCK = 10035;
const WSATRY_AGAIN = 11002;
const WSAENOTSOCK = 10038;
const WSAEADDRINUSE = 10048;

/** MSAFD Tcpip [TCP/IP]: the flags Windows and Wine report (WINSOCK-BEHAVIOUR.md, WSAEnumProtocols). */
const TCP: RawProtocolEntry = {
  name: 'MSAFD Tcpip [TCP/IP]',
  addressFamily: 2,
  socketType: 1,
  protocol: 6,
  serviceFlags: 0x20066,
};

/** The platform facts a replay script sets. */
export interface Ws2Facts {
  /** What setsockopt(SO_CONDITIONAL_ACCEPT) answers: "ok" or "error:<n>". */
  conditionalOption: string;
  /** How often a refused caller re-sends its SYN (Windows: about twice). */
  synRetries: number;
  /** Virtual ms between a reset and the caller's next SYN. */
  synRetryMs: number;
  /** What WSAAccept answers for a request whose caller reset: "error:<n>". */
  goneError: string;
}

/** The virtual clock the stand-in and the listener's rejection memory share. */
export class VirtualClock {
  ms = 0;
  readonly now = (): number => this.ms;
}

function errnoOf(result: string): number {
  const m = /^error:(\d+)$/.exec(result);
  if (!m) throw new Error(`replay: expected "error:<n>", got ${JSON.stringify(result)}`);
  return Number(m[1]);
}

/** What a caller's connect() has seen so far. */
export type ClientState = 'pending' | 'connected' | 'refused' | 'closed';

/** One caller: a client socket and its requests at the listener. */
export class Caller {
  state: ClientState = 'pending';
  retriesLeft: number;
  gone = false;
  constructor(
    readonly name: string,
    readonly address: SocketAddress,
    readonly socket: StandInSocket,
    retries: number,
  ) {
    this.retriesLeft = retries;
  }
}

/** A connection request in the listener's backlog. */
interface Request {
  caller: Caller;
  /** The handshake already completed (no SO_CONDITIONAL_ACCEPT). */
  connected: boolean;
}

/** The stand-in's sockets: enough of NativeSocket for the accept and connect paths. */
export class StandInSocket implements NativeSocket {
  private owner: NativeSocketOwner | null;
  closed = false;
  constructor(
    private readonly host: StandInWs2,
    owner: NativeSocketOwner | null,
    private readonly local: SocketAddress,
    private readonly remote: SocketAddress,
  ) {
    this.owner = owner;
    host.open++;
  }
  /** The connect completed (0) or failed: told to the owner on a later turn, as the addon's completion port does. */
  settleConnect(errno: number): void {
    setImmediate(() => this.owner?.onConnect(errno));
  }
  attach(owner: NativeSocketOwner): void {
    this.owner = owner;
  }
  readStart(): void {
    /* no bytes flow in these scripts */
  }
  readStop(): void {
    /* as readStart */
  }
  write(_chunks: Buffer[], callback: (errno: number) => void): boolean {
    setImmediate(() => callback(0));
    return false;
  }
  sendDisconnect(_data: Buffer | null, callback: (errno: number) => void): void {
    setImmediate(() => callback(0));
  }
  recvDisconnect(): Buffer | null {
    return null;
  }
  close(): void {
    this.release();
  }
  reset(): void {
    this.release();
  }
  ref(): void {
    /* the stand-in keeps no loop alive */
  }
  unref(): void {
    /* as ref */
  }
  localAddress(): SocketAddress | null {
    return this.local;
  }
  remoteAddress(): SocketAddress | null {
    return this.remote;
  }
  protocol(): RawProtocolEntry {
    return TCP;
  }
  calleeData(): Buffer | null {
    return null;
  }
  setNoDelay(_enable: boolean): void {
    /* options are not modelled */
  }
  setKeepAlive(_enable: boolean, _initialDelayMs: number): void {
    /* as setNoDelay */
  }
  options(): { noDelay: boolean; keepAlive: boolean } {
    return { noDelay: true, keepAlive: false };
  }
  /** The hand-off data path is Node's own TCP handle: nothing to replay (the replays run the addon path). */
  detach(): number {
    throw new Error('replay: the stand-in models the addon data path only (no detach)');
  }
  private release(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.open--;
  }
}

export class StandInListener implements NativeListener {
  readonly backlog: Request[] = [];
  owner: NativeListenerOwner | null = null;
  closed = false;
  private wakePending = false;
  constructor(
    private readonly host: StandInWs2,
    readonly local: SocketAddress,
    private readonly optionTook: boolean,
  ) {
    host.open++;
  }

  /** FD_ACCEPT: the owner is woken on a later turn, once per burst (as the addon's thread-safe function). */
  signal(): void {
    if (this.wakePending || this.closed) return;
    this.wakePending = true;
    setImmediate(() => {
      this.wakePending = false;
      if (!this.closed && this.owner) this.owner.onAcceptable();
    });
  }

  enqueue(caller: Caller): void {
    const connected = !this.optionTook;
    this.backlog.push({ caller, connected });
    if (connected) {
      caller.state = 'connected';
      caller.socket.settleConnect(0);
    }
    this.signal();
  }

  start(owner: NativeListenerOwner): void {
    this.owner = owner;
    this.signal();
  }

  accept(condition: NativeCondition): NativeSocket | number {
    const result = this.acceptOnce(condition);
    this.host.log.push(typeof result === 'number' ? `error:${result}` : 'ok');
    return result;
  }

  private acceptOnce(condition: NativeCondition): NativeSocket | number {
    if (this.closed) return WSAENOTSOCK;
    const head = this.backlog[0];
    if (head === undefined) return WSAEWOULDBLOCK;
    if (head.caller.gone) {
      this.backlog.shift();
      return errnoOf(this.host.facts.goneError);
    }
    this.host.conditionCalls.push(head.caller.name);
    let verdict: NativeVerdictCode;
    try {
      const answer = condition({
        callerId: head.caller.address,
        calleeId: this.local,
        callerData: null,
        sqos: null,
        gqos: null,
      });
      verdict = typeof answer === 'number' ? answer : answer.verdict;
    } catch (err) {
      // As the addon: a condition that throws rejects that request, and the
      // exception is re-thrown once WSAAccept has returned.
      this.refuse(head);
      throw err;
    }
    if (verdict === CF_DEFER) return WSATRY_AGAIN;
    this.backlog.shift();
    if (verdict === CF_ACCEPT) {
      if (!head.connected) {
        head.caller.state = 'connected';
        head.caller.socket.settleConnect(0);
      }
      return new StandInSocket(this.host, null, this.local, head.caller.address);
    }
    if (verdict !== CF_REJECT) throw new Error(`replay: the listener returned verdict ${String(verdict)}`);
    this.refuse(head);
    return WSAECONNREFUSED;
  }

  /** CF_REJECT for the head request: off the backlog, and the caller refused (or retrying). */
  private refuse(head: Request): void {
    if (this.backlog[0] === head) this.backlog.shift();
    if (head.connected) {
      head.caller.state = 'closed'; // connected, then closed by the listener
    } else if (head.caller.retriesLeft > 0) {
      // The SYN was reset; the caller sends it again a moment later.
      head.caller.retriesLeft--;
      this.host.clock.ms += this.host.facts.synRetryMs;
      this.backlog.push({ caller: head.caller, connected: false });
      this.signal();
    } else {
      head.caller.state = 'refused';
      head.caller.socket.settleConnect(WSAECONNREFUSED);
    }
  }

  /**
   * CF_ACCEPT for the deferred head, as the addon runs it on its own thread:
   * the result reaches the owner on a later turn. Logged as "held" and then
   * its result.
   */
  acceptHeld(callerId: SocketAddress): void {
    this.host.log.push('held');
    setImmediate(() => {
      const result = this.heldResult(callerId);
      this.host.log.push(typeof result === 'number' ? `error:${result}` : 'ok');
      if (this.owner) this.owner.onAcceptHeld(result);
      else if (typeof result !== 'number') result.reset();
    });
  }

  private heldResult(callerId: SocketAddress): NativeSocket | number {
    if (this.closed) return WSAENOTSOCK;
    const head = this.backlog[0];
    if (head === undefined) return WSAEWOULDBLOCK;
    if (head.caller.gone) {
      this.backlog.shift();
      return errnoOf(this.host.facts.goneError);
    }
    if (head.caller.address.port !== callerId.port) return WSATRY_AGAIN; // another caller is at the head
    this.backlog.shift();
    if (!head.connected) {
      head.caller.state = 'connected';
      head.caller.socket.settleConnect(0);
    }
    return new StandInSocket(this.host, null, this.local, head.caller.address);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.open--;
    this.host.listeners.delete(this.local.port);
  }
  ref(): void {
    /* the stand-in keeps no loop alive */
  }
  unref(): void {
    /* as ref */
  }
  address(): SocketAddress | null {
    return this.local;
  }
  protocol(): RawProtocolEntry {
    return TCP;
  }
  conditionalAccept(): boolean {
    return this.optionTook;
  }
}

export class StandInWs2 implements NativeAddon {
  readonly listeners = new Map<number, StandInListener>();
  readonly callers = new Map<string, Caller>();
  /** Every WSAAccept result, in the probe's notation. */
  readonly log: string[] = [];
  /** The caller each condition-function call was about. */
  readonly conditionCalls: string[] = [];
  open = 0;
  private nextPort = 50000;
  /** Names the next connect's caller (scripts refer to callers by name). */
  nextCallerName = '';

  constructor(
    readonly facts: Ws2Facts,
    readonly clock: VirtualClock,
  ) {}

  stats(): NativeStats {
    return {
      recvCompletions: 0,
      drainReads: 0,
      recvBytes: 0,
      copiedSends: 0,
      copiedSendBytes: 0,
      batches: 0,
      events: 0,
      acceptWakes: 0,
      acceptPosted: 0,
      acceptDelivered: 0,
      poolStarved: 0,
      poolLentBytes: 0,
    };
  }
  handleCount(): number {
    return this.open;
  }
  enumerateProtocols(): RawProtocolEntry[] {
    return [TCP];
  }
  wineVersion(): string | null {
    return this.facts.conditionalOption === 'error:10042' ? 'stand-in' : null;
  }
  // The hand-off (SOCKETs for Node's TCP handle) is not modelled: the
  // replays run the addon data path, whose provider never calls these.
  openSocket(): number {
    throw new Error('replay: the stand-in has no raw SOCKETs');
  }
  closeSocket(): void {
    throw new Error('replay: the stand-in has no raw SOCKETs');
  }
  sendDisconnectSocket(): void {
    throw new Error('replay: the stand-in has no raw SOCKETs');
  }
  socketPair(): [number, number, number] {
    throw new Error('replay: the stand-in has no raw SOCKETs');
  }
  socketOptions(): { noDelay: boolean; keepAlive: boolean } {
    throw new Error('replay: the stand-in has no raw SOCKETs');
  }

  connect(
    owner: NativeSocketOwner,
    host: string,
    port: number,
    _callerData: Buffer | null,
    _sqos: Qos | null,
    _maxCalleeData: number,
  ): NativeSocket {
    const address: SocketAddress = { address: host, port: this.nextPort++, family: 'IPv4' };
    const local: SocketAddress = { address: host, port, family: 'IPv4' };
    const socket = new StandInSocket(this, owner, address, local);
    const caller = new Caller(this.nextCallerName || `caller${address.port}`, address, socket, this.facts.synRetries);
    this.callers.set(caller.name, caller);
    const listener = this.listeners.get(port);
    if (listener === undefined) {
      caller.state = 'refused';
      socket.settleConnect(WSAECONNREFUSED);
    } else {
      listener.enqueue(caller);
    }
    return socket;
  }

  listen(host: string, port: number, _backlog: number, conditional: boolean): NativeListener {
    const bound = port === 0 ? 40000 + this.listeners.size : port;
    if (this.listeners.has(bound)) throw Object.assign(new Error('bind'), { errno: WSAEADDRINUSE, syscall: 'bind' });
    const optionTook = conditional && this.facts.conditionalOption === 'ok';
    const listener = new StandInListener(this, { address: host, port: bound, family: 'IPv4' }, optionTook);
    this.listeners.set(bound, listener);
    return listener;
  }

  /** The caller resets its connection (RST) while its request waits. */
  resetCaller(name: string): void {
    const caller = this.callers.get(name);
    if (!caller) throw new Error(`replay: no caller ${name}`);
    caller.gone = true;
    // A caller whose SYN was held gives up its own connect (it aborted).
    if (caller.state === 'pending') caller.socket.settleConnect(WSAECONNRESET);
    caller.state = 'closed';
    for (const listener of this.listeners.values()) {
      if (listener.backlog.some((r) => r.caller === caller)) listener.signal();
    }
  }
}
