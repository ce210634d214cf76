/**
 * `winsock2 serve`: a listening socket whose condition function applies
 * command-line rules, printing every decision as one line. Parse
 * (serve-options), build (serve-session), report (serve-report), shut down.
 */
import { constants } from 'node:os';
import { WinsockError, type SocketAddress } from '../index';
import { EXIT, out, providerSource } from './common';
import { parseServe, SERVE_HELP } from './serve-options';
import { ServeReport } from './serve-report';
import { ServeSession } from './serve-session';

export { DEFAULT_PORT } from './serve-options';

/** 128 + the signal's number: what a shell (and npx) reports for a process a signal stopped. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

export async function serveCommand(args: string[]): Promise<number> {
  const config = parseServe(args);
  if (config === null) {
    out(SERVE_HELP);
    return EXIT.OK;
  }
  const report = new ServeReport(config);
  const session = new ServeSession(config, report);

  // Installed before listening: a signal as soon as the "listening" line is out must find them.
  let signalled: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled !== null) process.exit(signalExitCode(signal)); // a second signal: stop now
    signalled = signal;
    session.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await session.server.listen({ port: config.port, host: config.host });
    const caps = session.server.capabilities;
    // Data the provider cannot carry is refused before anyone connects.
    if (config.calleeData !== undefined && config.calleeData !== '' && !caps.connectData) {
      await session.server.close();
      throw new WinsockError('WSAEOPNOTSUPP', 'WSAAccept', {
        detail: `the ${caps.protocol} provider cannot carry callee data (no XP1_CONNECT_DATA); use --provider framed to carry it`,
      });
    }
    if (config.disconnectReply !== undefined && config.disconnectReply !== '' && !caps.disconnectData) {
      await session.server.close();
      throw new WinsockError('WSAENOPROTOOPT', 'WSASendDisconnect', {
        detail: `the ${caps.protocol} provider cannot carry disconnect data (no XP1_DISCONNECT_DATA); use --provider framed to carry it`,
      });
    }
    report.listening(session.server.address() as SocketAddress, caps, providerSource(config.provider, caps.provider));
    await session.finished;
    await session.shutDown();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (session.listenerError) throw session.listenerError;
  report.stopped(session.done, signalled);
  return signalled === null ? EXIT.OK : signalExitCode(signalled);
}
