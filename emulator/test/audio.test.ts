import decode from 'audio-decode';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../opus.js';
import { type EmulatorHandle, startEmulator } from '../server.js';
import {
  KEY,
  WsClient,
  audioOf,
  continueTask,
  eventsOf,
  finishTask,
  newTaskId,
  runTask,
  type WsMessage,
} from './helpers.js';

const VOICE = 'builtin';
const SECONDS_PER_CHAR = 0.05;
const TEXT = 'Hello there, this is a test. It has two sentences. ';
// 'Hello there, this is a test.' (28) + 'It has two sentences.' (21) counted characters,
// x 0.05 s = about 2.5 s of audio at rate 1.0.
const CHARS = 49;

let emu: EmulatorHandle;

beforeAll(async () => {
  emu = await startEmulator({
    keys: [KEY],
    builtinVoices: [VOICE],
    audioSecondsPerChar: SECONDS_PER_CHAR,
    audioChunkMs: 300,
  });
});
afterAll(async () => {
  await emu.close();
});

async function synth(params: Record<string, unknown>, text = TEXT): Promise<WsMessage[]> {
  const c = await WsClient.open(emu.wsUrl);
  const id = newTaskId();
  c.send(runTask(id, 'cosyvoice-v2', { voice: VOICE, ...params }));
  await c.expectEvent('task-started');
  c.send(continueTask(id, text));
  c.send(finishTask(id));
  const msgs = await c.collect();
  c.close();
  return msgs;
}

function rms(x: Float32Array | Int16Array, scale = 1): number {
  let s = 0;
  for (const v of x) s += (v / scale) ** 2;
  return Math.sqrt(s / Math.max(1, x.length));
}

const RATES = [8000, 16000, 22050, 24000, 44100, 48000];

describe('synthesized audio', () => {
  it.each(RATES)('produces 16-bit mono PCM at %i Hz of plausible length', async (rate) => {
    const msgs = await synth({ format: 'pcm', sample_rate: rate });
    const binaries = msgs.filter((m) => m.kind === 'binary');
    for (const b of binaries) expect(b.data.length % 2).toBe(0);
    const pcm = audioOf(msgs);
    expect(pcm.length % 2).toBe(0);
    const seconds = pcm.length / 2 / rate;
    expect(seconds).toBeGreaterThan(CHARS * SECONDS_PER_CHAR * 0.8);
    expect(seconds).toBeLessThan(CHARS * SECONDS_PER_CHAR * 1.5);
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
    expect(rms(samples, 32768)).toBeGreaterThan(0.02); // not silence
  });

  it.each(RATES)(
    'produces a WAV at %i Hz with the header only in the first frame',
    async (rate) => {
      const msgs = await synth({ format: 'wav', sample_rate: rate });
      const frames = msgs.flatMap((m) => (m.kind === 'binary' ? [m.data] : []));
      expect(frames.length).toBeGreaterThan(2);
      expect(frames[0]!.toString('ascii', 0, 4)).toBe('RIFF');
      expect(frames[0]!.toString('ascii', 8, 12)).toBe('WAVE');
      expect(frames[0]!.readUInt32LE(24)).toBe(rate);
      expect(frames[0]!.readUInt16LE(22)).toBe(1); // mono
      expect(frames[0]!.readUInt16LE(34)).toBe(16); // 16-bit
      for (const f of frames.slice(1)) expect(f.includes(Buffer.from('RIFF'))).toBe(false);
      const decoded = await decode(audioOf(msgs));
      expect(decoded.sampleRate).toBe(rate);
      const seconds = decoded.channelData[0]!.length / rate;
      expect(seconds).toBeGreaterThan(CHARS * SECONDS_PER_CHAR * 0.8);
      expect(seconds).toBeLessThan(CHARS * SECONDS_PER_CHAR * 1.5);
      expect(rms(decoded.channelData[0]!)).toBeGreaterThan(0.02);
    },
  );

  it.each(RATES)(
    'produces an MP3 at %i Hz that decodes to audio of plausible length',
    async (rate) => {
      const msgs = await synth({ format: 'mp3', sample_rate: rate });
      const bytes = audioOf(msgs);
      expect(bytes[0]).toBe(0xff); // MPEG frame sync, no container header
      const decoded = await decode(bytes);
      expect(decoded.sampleRate).toBe(rate);
      const seconds = decoded.channelData[0]!.length / rate;
      expect(seconds).toBeGreaterThan(CHARS * SECONDS_PER_CHAR * 0.8);
      expect(seconds).toBeLessThan(CHARS * SECONDS_PER_CHAR * 1.5 + 0.3);
      expect(rms(decoded.channelData[0]!)).toBeGreaterThan(0.02);
    },
  );

  it('defaults to MP3 at 22050 Hz when format and sample_rate are omitted', async () => {
    const c = await WsClient.open(emu.wsUrl);
    const id = newTaskId();
    const msg = runTask(id, 'cosyvoice-v2', { voice: VOICE }) as {
      payload: { parameters: Record<string, unknown> };
    };
    delete msg.payload.parameters.format;
    delete msg.payload.parameters.sample_rate;
    c.send(msg);
    await c.expectEvent('task-started');
    c.send(continueTask(id, TEXT));
    c.send(finishTask(id));
    const decoded = await decode(audioOf(await c.collect()));
    expect(decoded.sampleRate).toBe(22050);
    c.close();
  });

  it('makes audio shorter at rate 2.0 than at rate 0.5', async () => {
    const fast = audioOf(await synth({ format: 'pcm', sample_rate: 16000, rate: 2.0 })).length;
    const slow = audioOf(await synth({ format: 'pcm', sample_rate: 16000, rate: 0.5 })).length;
    expect(slow).toBeGreaterThan(fast * 3);
  });

  it('makes silence at volume 0 and louder audio at volume 100 than at 20', async () => {
    const level = async (volume: number): Promise<number> => {
      const pcm = audioOf(await synth({ format: 'pcm', sample_rate: 16000, volume }));
      return rms(new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2), 32768);
    };
    expect(await level(0)).toBe(0);
    expect(await level(100)).toBeGreaterThan((await level(20)) * 3);
  });

  it('scales the audio length with the text length', async () => {
    const short = audioOf(await synth({ format: 'pcm', sample_rate: 16000 }, 'Hi there. ')).length;
    const long = audioOf(await synth({ format: 'pcm', sample_rate: 16000 }, TEXT + TEXT)).length;
    expect(long).toBeGreaterThan(short * 5);
  });
});

/** The Ogg pages of a byte run, throwing when it does not split into whole pages. */
function oggPages(bytes: Buffer): { type: number; packet: Buffer }[] {
  const pages: { type: number; packet: Buffer }[] = [];
  let off = 0;
  while (off < bytes.length) {
    expect(bytes.toString('latin1', off, off + 4)).toBe('OggS');
    const segments = bytes[off + 26]!;
    let body = 0;
    for (let i = 0; i < segments; i++) body += bytes[off + 27 + i]!;
    const start = off + 27 + segments;
    pages.push({ type: bytes[off + 5]!, packet: bytes.subarray(start, start + body) });
    off = start + body;
  }
  expect(off).toBe(bytes.length);
  return pages;
}

/** Decodes Ogg/Opus with the same static ffmpeg to 48 kHz mono 16-bit PCM. */
function decodeOpus(ogg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(ffmpegPath(), [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'ogg', '-i', 'pipe:0'],
      ...['-f', 's16le', '-ar', '48000', '-ac', '1', 'pipe:1'],
    ]);
    const out: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg exited ${code}`)),
    );
    p.stdin.end(ogg);
  });
}

describe('Opus output', () => {
  it.each([
    [8000, 8000],
    [16000, 16000],
    [22050, 24000],
    [24000, 24000],
    [44100, 48000],
    [48000, 48000],
  ])(
    'streams whole Ogg/Opus pages per binary frame; %i Hz is encoded at %i Hz',
    async (rate, opusRate) => {
      const msgs = await synth({ format: 'opus', sample_rate: rate });
      const frames = msgs.filter((m) => m.kind === 'binary');
      expect(frames.length).toBeGreaterThan(1);
      for (const f of frames) oggPages(f.data); // every frame is whole pages
      const pages = oggPages(audioOf(msgs));
      const head = pages[0]!.packet;
      expect(head.toString('latin1', 0, 8)).toBe('OpusHead');
      expect(head.readUInt32LE(12)).toBe(opusRate); // input sample rate
      expect(pages[1]!.packet.toString('latin1', 0, 8)).toBe('OpusTags');
      expect(pages.at(-1)!.type & 4).toBe(4); // end of stream
      expect(eventsOf(msgs).at(-1)!.event).toBe('task-finished');
    },
  );

  it('decodes to audio of the expected length, and bit_rate changes the size', async () => {
    const ogg = audioOf(await synth({ format: 'opus', sample_rate: 24000, bit_rate: 64 }));
    const pcm = await decodeOpus(ogg);
    const seconds = pcm.length / 2 / 48000;
    expect(seconds).toBeGreaterThan(CHARS * SECONDS_PER_CHAR * 0.8);
    expect(seconds).toBeLessThan(CHARS * SECONDS_PER_CHAR * 1.5 + 0.3);
    expect(rms(new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2), 32768)).toBeGreaterThan(
      0.02,
    );
    const small = audioOf(await synth({ format: 'opus', sample_rate: 24000, bit_rate: 8 }));
    expect(small.length).toBeLessThan(ogg.length);
  });
});
