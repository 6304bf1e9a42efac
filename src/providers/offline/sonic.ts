import Sonic, { type SonicModule } from '@echogarden/sonic-wasm';

let sonicModule: Promise<SonicModule> | undefined;

export interface SonicChange {
  /** Pitch factor (1 = unchanged); keeps duration. */
  pitch?: number;
  /** Tempo factor (2 = twice as fast); keeps pitch. */
  speed?: number;
}

/**
 * Pitch and tempo change with Sonic (Apache-2.0, WASM). Each call runs
 * synchronously inside the module, so one shared instance is safe.
 */
export async function sonicTransform(
  samples: Float32Array,
  sampleRate: number,
  change: SonicChange,
): Promise<Float32Array> {
  const pitch = change.pitch ?? 1;
  const speed = change.speed ?? 1;
  if (Math.abs(pitch - 1) < 0.005 && Math.abs(speed - 1) < 0.005) return samples;
  const sonic = await (sonicModule ??= Sonic());
  const stream = sonic._sonicCreateStream(sampleRate, 1);
  const input = sonic._malloc(samples.length * 4);
  let output = 0;
  try {
    sonic._sonicSetPitch(stream, pitch);
    sonic._sonicSetSpeed(stream, speed);
    sonic.HEAPF32.set(samples, input >> 2);
    sonic._sonicWriteFloatToStream(stream, input, samples.length);
    sonic._sonicFlushStream(stream);
    const available = sonic._sonicSamplesAvailable(stream);
    output = sonic._malloc(Math.max(1, available) * 4);
    const read = sonic._sonicReadFloatFromStream(stream, output, available);
    // HEAPF32 may have been replaced by a memory grow: read it after the calls.
    return sonic.HEAPF32.slice(output >> 2, (output >> 2) + read);
  } finally {
    sonic._free(input);
    if (output) sonic._free(output);
    sonic._sonicDestroyStream(stream);
  }
}
