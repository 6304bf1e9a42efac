/** Minimal types for @echogarden/sonic-wasm (Sonic, Apache-2.0), as used by the offline engine. */
declare module '@echogarden/sonic-wasm' {
  /** Pointers are byte offsets into HEAPF32.buffer; a stream is an opaque pointer. */
  export interface SonicModule {
    HEAPF32: Float32Array;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    _sonicCreateStream(sampleRate: number, channels: number): number;
    _sonicDestroyStream(stream: number): void;
    _sonicSetSpeed(stream: number, speed: number): void;
    _sonicSetPitch(stream: number, pitch: number): void;
    _sonicSetRate(stream: number, rate: number): void;
    _sonicSetVolume(stream: number, volume: number): void;
    _sonicSetQuality(stream: number, quality: number): void;
    _sonicWriteFloatToStream(stream: number, samples: number, count: number): number;
    _sonicFlushStream(stream: number): number;
    _sonicSamplesAvailable(stream: number): number;
    _sonicReadFloatFromStream(stream: number, samples: number, maxCount: number): number;
  }
  export default function Sonic(options?: object): Promise<SonicModule>;
}
