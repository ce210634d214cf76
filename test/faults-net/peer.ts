/**
 * Entry of a faults-net peer process: `node peer.js '<json PeerConfig>'`,
 * started by the orchestrator inside a network namespace (`ip netns exec`),
 * talking to it over the IPC channel Node passes through the exec, or over
 * TCP when it is node.exe under Wine (channel.ts).
 */
import { startRelay } from './relay';
import { runClient } from './client-peer';
import { runServer } from './server-peer';
import { tell, type PeerConfig } from './common';
import { closeChannel, openChannel } from './channel';

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as PeerConfig;
  // The orchestrator going away (killed, crashed) ends every peer: no strays.
  await openChannel();
  if (config.role === 'server') await runServer(config);
  else if (config.role === 'client') {
    await runClient(config);
    closeChannel();
  } else {
    const relay = await startRelay(config, Number(process.env['FAULTS_SEED'] ?? 1));
    tell({ type: 'ready', port: relay.port });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`faults-net peer: ${String((e as Error)?.stack ?? e)}\n`);
  process.exit(1);
});
