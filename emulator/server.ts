/**
 * DashScope CosyVoice emulator: voice enrollment over HTTP and speech synthesis over
 * WebSocket on one port, with fault injection for tests.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpSide } from './http.js';
import { DEFAULT_OPTIONS, EmulatorState } from './state.js';
import type { EmulatorHandle, EmulatorOptions } from './types.js';
import { WsSide } from './ws.js';

export type * from './types.js';
export { DEFAULT_OPTIONS } from './state.js';

export async function startEmulator(opts: Partial<EmulatorOptions> = {}): Promise<EmulatorHandle> {
  const options: EmulatorOptions = { ...DEFAULT_OPTIONS, ...opts };
  options.keys = [...options.keys];
  options.keysByHost = { ...options.keysByHost };
  const state = new EmulatorState(options);
  const http = new HttpSide(state);
  const ws = new WsSide(state);

  const server = createServer((req, res) => {
    http.handle(req, res).catch((e: unknown) => {
      state.log('http-error', { error: String(e) });
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.on('upgrade', (req, socket, head) => ws.handleUpgrade(req, socket, head));
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = options.host.includes(':') ? `[${options.host}]` : options.host;
  const baseUrl = `http://${hostPart}:${port}`;

  let closed: Promise<void> | undefined;
  return {
    port,
    baseUrl,
    httpBaseUrl: `${baseUrl}/api/v1`,
    wsUrl: `ws://${hostPart}:${port}/api-ws/v1/inference`,
    controlUrl: `${baseUrl}/__emulator`,
    injectFault: (rule) => state.injectFault(rule),
    clearFaults: () => state.clearFaults(),
    pendingFaults: () => state.pendingFaults(),
    setVoiceStatus: (voiceId, status) => {
      if (!state.setVoiceStatus(voiceId, status)) throw new Error(`unknown voice ${voiceId}`);
    },
    voices: () => state.voices(),
    stats: () => state.stats(),
    configure: (patch) => {
      Object.assign(options, patch);
    },
    reset: () => state.reset(),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        state.shutdown();
        ws.closeAll();
        for (const res of http.hanging) res.destroy();
        http.hanging.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
