/**
 * An Electron main-process snippet: a local HTTP API behind winsock2's
 * conditional accept (the pattern of examples/http-gate.ts and
 * docs/ecosystem.md), started once the app is ready and closed when the app
 * quits. Only loopback callers get in; the HTTP server never sees the others.
 * In an Electron app it reads:
 *
 * ```ts
 * import { app } from 'electron';
 * import { startWinsockServer } from './winsock-server';
 * startWinsockServer(app);
 * ```
 *
 * winsock2 is Node-API only, so the same prebuilt addon loads in Electron's
 * main process without a rebuild. This file type-checks without electron
 * installed: it describes the few pieces of `app` it uses (ElectronAppLike),
 * and `main()` runs the same code in plain Node with a stand-in app.
 */
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import { availableProviders, createServer, type ProviderAvailability, type WinsockServer } from 'winsock2';

/** The parts of Electron's `app` this snippet uses (electron's own App type fits it). */
export interface ElectronAppLike {
  whenReady(): Promise<unknown>;
  on(event: 'will-quit', listener: (event: { preventDefault(): void }) => void): unknown;
  quit(): void;
}

/**
 * Starts the server in `app.whenReady()` and closes it on `'will-quit'`:
 * the quit is held (preventDefault) until `server.close()` has refused every
 * pending request, then resumed.
 */
export function startWinsockServer(app: ElectronAppLike, port = 0): Promise<WinsockServer> {
  let server: WinsockServer | null = null;
  let closed = false;
  app.on('will-quit', (event) => {
    if (!server || closed) return; // nothing to close (any more): let the app quit
    event.preventDefault();
    void server.close().then(() => {
      closed = true;
      app.quit(); // 'will-quit' again, now let through
    });
  });
  return app.whenReady().then(async () => {
    const api = http.createServer((_req, res) => res.end('hello from the main process\n'));
    server = createServer({
      allowHalfOpen: true, // as http.Server's own listener (docs/ecosystem.md)
      condition: (req) =>
        req.callerId.address === '127.0.0.1' || req.callerId.address === '::1' ? 'accept' : 'reject',
    });
    // Admitted sockets only: the HTTP server never sees a refused caller.
    server.on('connection', (socket) => api.emit('connection', socket));
    server.once('close', () => api.closeAllConnections());
    await server.listen({ port, host: '127.0.0.1' });
    return server;
  });
}

/** A stand-in for Electron's `app`, enough to run the snippet in plain Node. */
export class FakeElectronApp extends EventEmitter implements ElectronAppLike {
  quitted = false;
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  quit(): void {
    let prevented = false;
    this.emit('will-quit', {
      preventDefault: () => {
        prevented = true;
      },
    });
    if (!prevented) {
      this.quitted = true;
      this.emit('quit');
    }
  }
}

export interface ElectronExampleResult {
  /** Whether the native addon loaded here, and why not (what an app shows in its diagnostics). */
  native: ProviderAvailability | undefined;
  listeningPort: number;
  greeting: string;
  closedOnQuit: boolean;
  quitted: boolean;
}

/** Runs the snippet in plain Node: start, one client, quit. */
export async function main(): Promise<ElectronExampleResult> {
  const app = new FakeElectronApp();
  const server = await startWinsockServer(app);
  const { port } = server.address() ?? { port: 0 };
  // A plain HTTP client: the native and emulated providers put plain TCP on the wire.
  const greeting = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => {
          text += s;
        });
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
  const closed = new Promise<void>((resolve) => server.once('close', resolve));
  const quit = new Promise<void>((resolve) => app.once('quit', resolve));
  app.quit();
  await closed;
  await quit;
  return {
    native: availableProviders().find((p) => p.name === 'native'),
    listeningPort: port,
    greeting,
    closedOnQuit: server.address() === null,
    quitted: app.quitted,
  };
}

// Run when executed directly (`node electron-main.js`), as CommonJS or as an ES module
// alike (`require.main === module` exists only in CommonJS); importing the
// file runs nothing.
if (/[\\/]electron-main\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  // In Electron's main process use the real app; in Node, the stand-in.
  if (process.versions['electron']) {
    // A specifier in a variable: this file type-checks without electron installed.
    const electron = 'electron';
    void (import(electron) as Promise<{ app: ElectronAppLike }>)
      .then(({ app }) => startWinsockServer(app))
      .then((server) => console.log('winsock2 listening on', server.address()));
  } else {
    main().then(
      (r) => console.log(r),
      (err: unknown) => {
        console.error(err);
        process.exitCode = 1;
      },
    );
  }
}
