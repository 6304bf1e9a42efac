/** `npm run emulator`: run the DashScope CosyVoice emulator until interrupted. */
import { ConfigError, cliOptions, parseEnv } from './config.js';
import { startEmulator } from './server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = parseEnv(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`dashscope emulator: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  const emu = await startEmulator({
    ...cliOptions(config),
    log: (event, data) => {
      process.stdout.write(
        `${new Date().toISOString()} ${event} ${data ? JSON.stringify(data) : ''}\n`,
      );
    },
  });
  process.stdout.write(
    [
      'DashScope CosyVoice emulator listening',
      `  HTTP base:  ${emu.httpBaseUrl}`,
      `  WebSocket:  ${emu.wsUrl}`,
      `  Control:    ${emu.controlUrl} (GET /state, POST /faults, DELETE /faults, POST /voices/:id/status, POST /config, POST /reset)`,
      `  Keys:       ${config.keys.length} configured`,
      '',
    ].join('\n'),
  );
  const stop = (): void => {
    process.stdout.write('shutting down\n');
    emu.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`dashscope emulator failed to start: ${String(e)}\n`);
  process.exitCode = 1;
});
