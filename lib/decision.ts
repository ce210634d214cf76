/**
 * Turns whatever a condition function returned into a verdict the provider
 * can act on, or a WinsockError saying why it cannot (which rejects only that
 * caller: WSAAccept's CF_REJECT plus a reported WSAEINVAL).
 */
import type { ConditionVerdict } from './provider';
import type { Capabilities, Decision, Qos } from './types';
import { WinsockError } from './errors';
import { toBufferOrNull } from './buffers';
import { checkDataCarried } from './validation';

export type NormalisedDecision = ConditionVerdict | { readonly action: 'invalid'; readonly error: WinsockError };

function isQos(value: unknown): value is Qos {
  return typeof value === 'object' && value !== null && 'sending' in value && 'receiving' in value;
}

function invalid(detail: string): NormalisedDecision {
  return { action: 'invalid', error: new WinsockError('WSAEINVAL', 'WSAAccept', { detail }) };
}

/**
 * Validates a decision. `capabilities` decides whether callee data can be
 * carried at all: data the provider would drop is refused, never lost silently.
 */
export function normaliseDecision(
  value: unknown,
  capabilities: Capabilities,
  maxCalleeData: number,
): NormalisedDecision {
  try {
    return readDecision(value, capabilities, maxCalleeData);
  } catch (err) {
    // A result whose reading throws (a getter, a Proxy) is invalid like any other:
    // never an exception into the provider or out of a promise callback.
    return invalid(`the decision could not be read: ${reasonOf(err)}`);
  }
}

// The plain verdicts, shared by every request (read-only by type, frozen at run time): no object per decision.
export const ACCEPT: ConditionVerdict = Object.freeze({ action: 'accept', calleeData: null, qos: null });
export const REJECT: ConditionVerdict = Object.freeze({ action: 'reject' });
export const DEFER: ConditionVerdict = Object.freeze({ action: 'defer' });

function readDecision(value: unknown, capabilities: Capabilities, maxCalleeData: number): NormalisedDecision {
  if (value === 'accept') return ACCEPT;
  if (value === 'reject') return REJECT;
  if (value === 'defer') return DEFER;
  if (typeof value !== 'object' || value === null || !('action' in value)) {
    return invalid(
      `the condition function returned ${describe(value)}; expected 'accept', 'reject', 'defer' or { action, calleeData?, qos? }`,
    );
  }
  const decision = value as { action: unknown; calleeData?: unknown; qos?: unknown };
  if (decision.action === 'reject') return REJECT;
  if (decision.action === 'defer') return DEFER;
  if (decision.action !== 'accept') {
    return invalid(`the decision's action is ${describe(decision.action)}; expected 'accept', 'reject' or 'defer'`);
  }
  let calleeData: Buffer | null;
  try {
    calleeData = toBufferOrNull(decision.calleeData, 'calleeData');
  } catch (err) {
    return invalid((err as Error).message);
  }
  if (decision.qos !== undefined && decision.qos !== null && !isQos(decision.qos)) {
    return invalid('qos must be { sending, receiving, providerSpecific } or null');
  }
  const qos = (decision.qos ?? null) as Qos | null;
  if (calleeData !== null && calleeData.length > maxCalleeData) {
    return {
      action: 'invalid',
      error: new WinsockError('WSAEMSGSIZE', 'WSAAccept', {
        detail: `callee data is ${calleeData.length} bytes; maxCalleeData is ${maxCalleeData}`,
      }),
    };
  }
  try {
    if (calleeData !== null && calleeData.length > 0) checkDataCarried('calleeData', capabilities);
    if (qos !== null) checkDataCarried('grantedQos', capabilities);
  } catch (err) {
    return { action: 'invalid', error: err as WinsockError };
  }
  return { action: 'accept', calleeData, qos };
}

/** A short description of an unexpected value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return `${typeof value} ${String(value)}`;
}

/** True for anything with a callable `then` (a Promise or a thenable). */
export function isThenable(value: unknown): value is PromiseLike<Decision> {
  try {
    return (
      (typeof value === 'object' || typeof value === 'function') &&
      value !== null &&
      typeof (value as { then?: unknown }).then === 'function'
    );
  } catch {
    return false; // an unreadable `then`: normaliseDecision reports the value as invalid
  }
}

/** What went wrong, in words, from anything user code threw or returned (which may itself throw when read). */
export function reasonOf(err: unknown): string {
  try {
    return err instanceof Error ? String(err.message) : describe(err);
  } catch {
    return 'a value that throws when read';
  }
}
