import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import ESpeakNg from 'espeak-ng';

import { decodeAudio, type MonoPcm } from '../../audio/decode.js';

export interface EspeakRequest {
  text: string;
  /** espeak voice with optional variant, e.g. `en-us+m3`, `cmn+f3`. */
  voice: string;
  /** 0–99 (espeak `-p`). */
  pitch: number;
  /** Words per minute, 80–450 (espeak `-s`). */
  speed: number;
}

/** The WebAssembly global (the project's lib setting types the namespace but not the value). */
const wasmApi = (
  globalThis as unknown as {
    WebAssembly: {
      compile(bytes: Uint8Array): Promise<object>;
      instantiate(module: object, imports: object): Promise<object>;
    };
  }
).WebAssembly;

export class EspeakError extends Error {
  override readonly name = 'EspeakError';
}

/**
 * espeak-ng compiled to WASM (GPL-3.0-or-later). The Emscripten build runs
 * `main()` once per module instance and keeps global state, so every
 * utterance gets a fresh instance and calls are serialised. The compiled
 * WebAssembly.Module is cached, which brings one call down from ~0.35 s to
 * ~0.15 s; the first call pays ~0.5 s to read and compile 18 MB of WASM.
 */
export class EspeakEngine {
  private static sharedEngine: EspeakEngine | undefined;
  private compiled: Promise<object> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** One engine per process: it holds the compiled module and the queue. */
  static shared(): EspeakEngine {
    return (EspeakEngine.sharedEngine ??= new EspeakEngine());
  }

  private module(): Promise<object> {
    this.compiled ??= (async () => {
      const entry = createRequire(import.meta.url).resolve('espeak-ng');
      const bytes = await readFile(path.join(path.dirname(entry), 'espeak-ng.wasm'));
      return wasmApi.compile(bytes);
    })();
    return this.compiled;
  }

  /** Speaks `text` and returns espeak's PCM (mono, 22 050 Hz). */
  synth(request: EspeakRequest): Promise<MonoPcm> {
    const run = this.queue.then(() => this.run(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run({ text, voice, pitch, speed }: EspeakRequest): Promise<MonoPcm> {
    if (!/^[a-z-]+(\+[a-z0-9]+)?$/.test(voice))
      throw new EspeakError(`Invalid espeak voice ${voice}`);
    const compiled = await this.module();
    const messages: string[] = [];
    const exitCode = process.exitCode;
    let wav: Uint8Array;
    try {
      const instance = await ESpeakNg({
        // Text goes through a file so that nothing in it can be taken for an option.
        arguments: [
          '-b',
          '1',
          '-f',
          '/input.txt',
          '-w',
          '/output.wav',
          '-v',
          voice,
          '-p',
          String(Math.round(clamp(pitch, 0, 99))),
          '-s',
          String(Math.round(clamp(speed, 80, 450))),
        ],
        preRun: [(m) => m.FS.writeFile('/input.txt', text)],
        print: (line) => messages.push(line),
        printErr: (line) => messages.push(line),
        instantiateWasm: (imports, receive) => {
          void wasmApi
            .instantiate(compiled, imports)
            .then((instance) => receive(instance, compiled));
          return {};
        },
      });
      try {
        wav = instance.FS.readFile('/output.wav');
      } catch (cause) {
        throw new EspeakError(
          `espeak-ng produced no audio: ${messages.join(' ') || 'no message'}`,
          { cause },
        );
      }
    } finally {
      // The Emscripten runtime sets process.exitCode when espeak's main() fails.
      process.exitCode = exitCode;
    }
    const decoded = await decodeAudio(wav);
    return { samples: decoded.samples, sampleRate: decoded.sampleRate };
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}
