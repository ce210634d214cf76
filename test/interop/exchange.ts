/**
 * The exchange both ends of a cross-OS interop run perform: the client sends
 * a payload and hangs up; the server answers with the payload's length and
 * SHA-256 and hangs up. On framed both hang-ups carry disconnect data and the
 * client sends caller data; on plain TCP there is none of either.
 */
import { createHash } from 'node:crypto';
import type { WinsockServer } from '../../lib/server';
import type { WinsockSocket } from '../../lib/socket';

/** 1 MiB of a fixed pattern: enough to cross several reads and writes. */
export function interopPayload(): Buffer {
  const b = Buffer.alloc(1 << 20);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

export interface ExchangeResult {
  provider: string;
  platform: string;
  /** What the peer answered (client) or received (server). */
  received: string;
  callerData: string | null;
  disconnectData: string | null;
}

function digest(b: Buffer): string {
  return `${b.length}:${createHash('sha256').update(b).digest('hex')}`;
}

function readToEnd(socket: WinsockSocket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/** Accepts one caller, reads its payload to the end, answers with its digest. */
export async function serveOne(server: WinsockServer): Promise<ExchangeResult> {
  const socket = await server.accept();
  const data = await readToEnd(socket);
  const disconnectData = socket.capabilities.disconnectData ? await socket.recvDisconnect() : null;
  socket.write(digest(data));
  await socket.sendDisconnect(socket.capabilities.disconnectData ? `server saw ${data.length}` : null);
  socket.destroy();
  return {
    provider: socket.capabilities.provider,
    platform: process.platform,
    received: digest(data),
    callerData: socket.callerData?.toString() ?? null,
    disconnectData: disconnectData?.toString() ?? null,
  };
}

/** Sends the payload, hangs up, and reads the server's answer. */
export async function exchangeAsClient(socket: WinsockSocket): Promise<ExchangeResult> {
  const answer = readToEnd(socket);
  socket.write(interopPayload());
  await socket.sendDisconnect(socket.capabilities.disconnectData ? `client ${process.platform} done` : null);
  const received = (await answer).toString();
  const disconnectData = socket.capabilities.disconnectData ? await socket.recvDisconnect() : null;
  socket.destroy();
  return {
    provider: socket.capabilities.provider,
    platform: process.platform,
    received,
    callerData: null,
    disconnectData: disconnectData?.toString() ?? null,
  };
}

export const EXPECTED_DIGEST = digest(interopPayload());
