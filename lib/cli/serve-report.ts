/**
 * `winsock2 serve`, the report: one line per event, as text (ISO time first)
 * or as one JSON object per line (--json). The formats are docs/cli.md's.
 */
import type { Capabilities, DecisionEvent, SocketAddress, WinsockError } from '../index';
import { describeError, endpoint, err, jsonData, oneLine, out, ruleMatches, showData } from './common';
import type { ServeConfig } from './serve-options';

/** How a finished connection ended, for its `closed` line. */
export type ClosedHow =
  { by: 'peer'; peerData: Buffer | null } | { by: 'shutdown' } | { by: 'error'; error: WinsockError };

export class ServeReport {
  constructor(private readonly config: ServeConfig) {}

  private emit(event: string, fields: Record<string, unknown>, text: string, toStderr = false): void {
    if (this.config.json) out(JSON.stringify({ event, time: new Date().toISOString(), ...fields }));
    else if (toStderr) err(`${new Date().toISOString()} ${text}`);
    else out(`${new Date().toISOString()} ${text}`);
  }

  listening(address: SocketAddress, caps: Capabilities, source: string): void {
    // In the user's words: whether a refused caller ever completes the TCP handshake, and what the wire carries.
    const conditional = caps.conditionalAccept
      ? 'callers wait for the decision'
      : 'SO_CONDITIONAL_ACCEPT: not in effect on this provider, callers complete the TCP handshake before the condition decides';
    this.emit(
      'listening',
      {
        address: address.address,
        port: address.port,
        family: address.family,
        capabilities: caps,
        providerSource: source,
      },
      `listening on ${endpoint(address.address, address.port)} (provider ${caps.provider}, ${source}; ${caps.protocol}; ${conditional}; ` +
        `connect data ${caps.connectData ? 'carried' : 'not carried'}, disconnect data ${caps.disconnectData ? 'carried' : 'not carried'})`,
    );
  }

  decision(e: DecisionEvent, ruleNote: string | undefined): void {
    const { rules, maxConnections } = this.config;
    const caller = e.request.callerId;
    const rule =
      e.reason === 'blockList'
        ? `deny ${rules.deny.find((r) => ruleMatches(r, caller.address))?.text ?? '?'}`
        : e.reason === 'maxConnections'
          ? `max-connections ${maxConnections ?? '?'}`
          : (ruleNote ?? e.reason);
    const duration = Math.round(e.durationMs * 1000) / 1000;
    this.emit(
      'decision',
      {
        id: e.request.id,
        caller,
        callerData: jsonData(e.request.callerData),
        verdict: e.verdict,
        reason: e.reason,
        rule,
        durationMs: duration,
        deferrals: e.deferrals,
      },
      `${e.verdict.padEnd(6)} ${endpoint(caller.address, caller.port)} caller-data=${showData(e.request.callerData)} ` +
        `reason=${e.reason} rule=${JSON.stringify(rule)} duration=${duration.toFixed(3)}ms deferrals=${e.deferrals}`,
    );
  }

  conditionError(error: WinsockError, id: number, caller: SocketAddress): void {
    this.emit(
      'conditionError',
      { id, caller, error: describeError(error) },
      `conditionError ${endpoint(caller.address, caller.port)}: ${describeError(error)}`,
      true,
    );
  }

  withdrawn(error: WinsockError, id: number, caller: SocketAddress): void {
    this.emit(
      'withdrawn',
      { id, caller, error: error.code },
      `withdrawn ${endpoint(caller.address, caller.port)} ${error.code}`,
    );
  }

  clientError(error: WinsockError, remote: SocketAddress | null): void {
    this.emit(
      'clientError',
      { caller: remote, error: describeError(error) },
      `clientError ${remote ? endpoint(remote.address, remote.port) : '?'}: ${describeError(error)}`,
      true,
    );
  }

  closed(caller: SocketAddress, callerData: Buffer | null, received: number, how: ClosedHow): void {
    const where = `closed ${endpoint(caller.address, caller.port)} received=${received}B`;
    if (how.by === 'peer') {
      const reply = this.config.disconnectReply;
      this.emit(
        'closed',
        {
          caller,
          callerData: jsonData(callerData),
          receivedBytes: received,
          disconnectData: jsonData(how.peerData),
          reply: reply ?? null,
        },
        `${where} disconnect-data=${showData(how.peerData)} reply=${reply === undefined ? '-' : JSON.stringify(reply)}`,
      );
    } else if (how.by === 'shutdown') {
      this.emit(
        'closed',
        { caller, callerData: jsonData(callerData), receivedBytes: received, closedBy: 'shutdown' },
        `${where} by=shutdown`,
      );
    } else {
      this.emit(
        'closed',
        { caller, receivedBytes: received, error: describeError(how.error) },
        `${where} error=${oneLine(describeError(how.error))}`,
      );
    }
  }

  stopped(requests: number, signal: NodeJS.Signals | null): void {
    this.emit(
      'stopped',
      { requests, signal },
      `stopped after ${requests} request${requests === 1 ? '' : 's'}${signal ? ` (${signal})` : ''}`,
    );
  }
}
