import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import ESpeakNg, { type ESpeakNgModule } from 'espeak-ng';

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
      instantiate(module: object, imports: object): Promise<WasmInstance>;
    };
  }
).WebAssembly;

/** What the engine uses of the instance's own exports. */
interface WasmExports {
  memory: { buffer: ArrayBuffer };
  malloc(bytes: number): number;
  free(pointer: number): void;
}
interface WasmInstance {
  exports: WasmExports;
}

/** One live espeak module: its file system and memory are built once and reused. */
interface Instance {
  module: ESpeakNgModule;
  wasm: WasmExports;
  messages: string[];
  /**
   * Byte address of getopt's `optind` in the module's memory, found on the
   * first run; null when it could not be found (the instance is then used once).
   */
  optind: number | null | undefined;
  runs: number;
}

/** Utterances one instance speaks before it is replaced (bounds any leak in espeak's C heap). */
const RUNS_PER_INSTANCE = 256;

export class EspeakError extends Error {
  override readonly name = 'EspeakError';
}

/**
 * espeak-ng compiled to WASM (GPL-3.0-or-later). The Emscripten build only
 * exports the command line's `main()`; building a module instance (18 MB of
 * memory and a virtual file system of espeak's data) costs far more than an
 * utterance, so one instance is kept per thread and `main()` is run again on
 * it for each utterance. The only state `main()` does not set up afresh is
 * getopt's `optind`: its address is found after the first run (the one word
 * that went from 1 to argc) and reset to 1 before every later run, as a C
 * program resets getopt. If it cannot be found the instance is used once,
 * as before. What does carry over is the phase of espeak's slow pitch
 * flutter, so the same request's median F0 varies by up to ~4 % between
 * runs (well inside what the style match corrects). Calls are serialised;
 * an instance is replaced after
 * {@link RUNS_PER_INSTANCE} utterances or any failure.
 */
export class EspeakEngine {
  private static sharedEngine: EspeakEngine | undefined;
  private compiled: Promise<object> | undefined;
  private current: Instance | undefined;
  /**
   * `optind`'s address, the same in every instance of the compiled module:
   * searched for once (undefined until then), null when it was not found.
   */
  private optindAt: number | null | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Module instances built so far (tests and diagnostics). */
  instancesBuilt = 0;

  /** One engine per thread: it holds the compiled module, the live instance and the queue. */
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

  private async instantiate(): Promise<Instance> {
    const compiled = await this.module();
    const messages: string[] = [];
    let wasm: WasmExports | undefined;
    const module = await ESpeakNg({
      noInitialRun: true,
      print: (line) => messages.push(line),
      printErr: (line) => messages.push(line),
      instantiateWasm: (imports, receive) => {
        void wasmApi.instantiate(compiled, imports).then((instance) => {
          wasm = instance.exports;
          receive(instance, compiled);
        });
        return {};
      },
    });
    if (!wasm) throw new EspeakError('espeak-ng did not start');
    this.instancesBuilt++;
    return { module, wasm, messages, optind: this.optindAt, runs: 0 };
  }

  private async run({ text, voice, pitch, speed }: EspeakRequest): Promise<MonoPcm> {
    if (!/^[a-z-]+(\+[a-z0-9]+)?$/.test(voice))
      throw new EspeakError(`Invalid espeak voice ${voice}`);
    const inst = (this.current ??= await this.instantiate());
    // Text goes through a file so that nothing in it can be taken for an option.
    const args = [
      'espeak-ng',
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
    ];
    inst.messages.length = 0;
    const exitCode = process.exitCode;
    let wav: Uint8Array;
    try {
      inst.module.FS.writeFile('/input.txt', text);
      const before = inst.optind === undefined ? words(inst).slice() : undefined;
      if (inst.optind) words(inst)[inst.optind >> 2] = 1;
      callMain(inst, args);
      inst.runs++;
      const after = words(inst);
      if (before) inst.optind = this.optindAt = findOptind(before, after, args.length);
      else if (inst.optind && after[inst.optind >> 2] !== args.length) inst.optind = null;
      try {
        // A fresh file each run: its presence proves this run's options were read.
        wav = inst.module.FS.readFile('/output.wav');
        inst.module.FS.unlink('/output.wav');
      } catch (cause) {
        throw new EspeakError(
          `espeak-ng produced no audio: ${inst.messages.join(' ') || 'no message'}`,
          { cause },
        );
      }
    } catch (err) {
      this.current = undefined;
      throw err instanceof EspeakError ? err : new EspeakError('espeak-ng failed', { cause: err });
    } finally {
      // The Emscripten runtime sets process.exitCode when espeak's main() fails.
      process.exitCode = exitCode;
    }
    if (!inst.optind || inst.runs >= RUNS_PER_INSTANCE) this.current = undefined;
    return parseEspeakWav(wav) ?? (await decodeAudio(wav));
  }
}

function words(inst: Instance): Int32Array {
  // The view is made afresh: a memory grow would detach an old one.
  return new Int32Array(inst.wasm.memory.buffer);
}

/** Runs espeak's `main(argc, argv)` with `args` copied into the module's heap. */
function callMain(inst: Instance, args: string[]): number {
  const { wasm } = inst;
  const encoder = new TextEncoder();
  const pointers: number[] = [];
  let argv = 0;
  try {
    for (const arg of args) {
      const bytes = encoder.encode(`${arg}\0`);
      const p = wasm.malloc(bytes.length);
      if (!p) throw new EspeakError('espeak-ng is out of memory');
      pointers.push(p);
      new Uint8Array(wasm.memory.buffer).set(bytes, p);
    }
    argv = wasm.malloc(4 * (args.length + 1));
    if (!argv) throw new EspeakError('espeak-ng is out of memory');
    const heap = words(inst);
    pointers.forEach((p, i) => (heap[(argv >> 2) + i] = p));
    heap[(argv >> 2) + args.length] = 0;
    return inst.module._main(args.length, argv);
  } finally {
    for (const p of pointers) wasm.free(p);
    if (argv) wasm.free(argv);
  }
}

/** The one word that held 1 (getopt's initial `optind`) and now holds argc; null unless unique. */
function findOptind(before: Int32Array, after: Int32Array, argc: number): number | null {
  let found: number | null = null;
  const n = Math.min(before.length, after.length);
  for (let i = 0; i < n; i++) {
    if (after[i] === argc && before[i] === 1) {
      if (found !== null) return null;
      found = i * 4;
    }
  }
  return found;
}

/**
 * espeak's own output: a RIFF/WAVE of 16-bit mono PCM. Read directly (no
 * container sniffing or decoder module); undefined for anything else.
 */
export function parseEspeakWav(wav: Uint8Array): MonoPcm | undefined {
  const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  const tag = (at: number) => String.fromCharCode(...wav.subarray(at, at + 4));
  if (wav.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return undefined;
  let sampleRate = 0;
  for (let at = 12; at + 8 <= wav.length;) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || view.getUint16(body, true) !== 1) return undefined;
      if (view.getUint16(body + 2, true) !== 1 || view.getUint16(body + 14, true) !== 16)
        return undefined;
      sampleRate = view.getUint32(body + 4, true);
    } else if (id === 'data') {
      if (!sampleRate) return undefined;
      const count = Math.floor(Math.min(size, wav.length - body) / 2);
      const samples = new Float32Array(count);
      for (let i = 0; i < count; i++) samples[i] = view.getInt16(body + 2 * i, true) / 32768;
      return { samples, sampleRate };
    }
    at = body + size + (size & 1);
  }
  return undefined;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}
