/** Environment configuration of the emulator CLI. */
import type { EmulatorOptions } from './types.js';

export interface CliConfig {
  port: number;
  keys: string[];
  deployDelayMs: number | undefined;
}

export class ConfigError extends Error {}

/**
 * `DASHSCOPE_EMULATOR_PORT` (default 8790), `DASHSCOPE_EMULATOR_KEYS` (comma-separated,
 * default `sk-test`), optional `DASHSCOPE_EMULATOR_DEPLOY_DELAY_MS`.
 */
export function parseEnv(env: Record<string, string | undefined>): CliConfig {
  const rawPort = env.DASHSCOPE_EMULATOR_PORT?.trim() || '8790';
  if (!/^\d+$/.test(rawPort) || Number(rawPort) > 65535)
    throw new ConfigError(
      `DASHSCOPE_EMULATOR_PORT must be an integer from 0 to 65535 (got "${rawPort}")`,
    );
  const rawKeys = env.DASHSCOPE_EMULATOR_KEYS ?? 'sk-test';
  const keys = rawKeys.split(',').map((k) => k.trim());
  if (keys.length === 0 || keys.some((k) => k === '' || /\s/.test(k)))
    throw new ConfigError(
      'DASHSCOPE_EMULATOR_KEYS must be a comma-separated list of non-empty keys without spaces',
    );
  let deployDelayMs: number | undefined;
  const rawDelay = env.DASHSCOPE_EMULATOR_DEPLOY_DELAY_MS?.trim();
  if (rawDelay) {
    if (!/^\d+$/.test(rawDelay))
      throw new ConfigError(
        `DASHSCOPE_EMULATOR_DEPLOY_DELAY_MS must be a non-negative integer of milliseconds (got "${rawDelay}")`,
      );
    deployDelayMs = Number(rawDelay);
  }
  return { port: Number(rawPort), keys, deployDelayMs };
}

export function cliOptions(c: CliConfig): Partial<EmulatorOptions> {
  return {
    port: c.port,
    keys: c.keys,
    ...(c.deployDelayMs !== undefined ? { deployDelayMs: c.deployDelayMs } : {}),
  };
}
