import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from '../audio.js';
import { type EmulatorHandle, startEmulator } from '../server.js';
import { encodeWav } from '../wav.js';
import { KEY, type SampleServer, enroll, startSampleServer } from './helpers.js';

let emu: EmulatorHandle;
let samples: SampleServer;

beforeAll(async () => {
  samples = await startSampleServer();
  emu = await startEmulator({ keys: [KEY], deployDelayMs: 10, sampleFetchTimeoutMs: 2000 });
});
afterAll(async () => {
  await emu.close();
  await samples.close();
});

function createFrom(url: string) {
  return enroll(emu, {
    action: 'create_voice',
    target_model: 'cosyvoice-v2',
    prefix: 'judge',
    url,
  });
}

/** A voice-like signal (the emulator's own synthetic voice) of about `seconds`. */
function voiceLike(seconds: number, sampleRate: number): Float32Array {
  return synthesize('x'.repeat(Math.round(seconds / 0.05)), {
    sampleRate,
    volume: 60,
    rate: 1,
    pitch: 1,
    secondsPerChar: 0.05,
    seed: 7,
  });
}

describe('reference audio accepted', () => {
  it.each([
    'speech/spk02_m_en_jfk_16k_mono.wav',
    'speech/spk02_m_en_jfk_44k1_stereo.wav',
    'speech/spk02_m_en_jfk.mp3',
    'speech/spk02_m_en_jfk.m4a',
    'speech/spk01_m_en_librivox.mp3',
    'speech/spk01_m_en_librivox.m4a',
    'speech/spk01_m_en_librivox_16k_mono.wav',
  ])('accepts %s (WAV 16-bit / MP3 / M4A speech at >= 16 kHz)', async (file) => {
    const r = await createFrom(samples.url(`fixtures/${file}`));
    expect(r.status, r.text).toBe(200);
    expect(r.body.output.voice_id).toMatch(/^cosyvoice-v2-judge-[0-9a-f]{32}$/);
  });

  it('judges the format by content, not by the file name (a WAV served as .mp3 is accepted)', async () => {
    const { readFile } = await import('node:fs/promises');
    const { fixtureDir } = await import('./helpers.js');
    const wav = await readFile(`${fixtureDir}/speech/spk02_m_en_jfk_16k_mono.wav`);
    const r = await createFrom(samples.put('actually-a-wav.mp3', wav));
    expect(r.status).toBe(200);
  });
});

describe('reference audio rejected', () => {
  it('reports an unreachable url as 500 InternalError', async () => {
    const r = await createFrom('http://127.0.0.1:1/nothing-listens-here.wav');
    expect(r.status).toBe(500);
    expect(r.body.code).toBe('InternalError');
  });

  it('reports a url answering 404 as 500 InternalError', async () => {
    const r = await createFrom(samples.url('status/404'));
    expect(r.status).toBe(500);
    expect(r.body.code).toBe('InternalError');
  });

  it.each([
    ['bad/text_renamed.wav', 'a text file named .wav'],
    ['bad/png_renamed.mp3', 'a PNG named .mp3'],
    ['images/sample_256x256.jpg', 'a JPEG'],
    ['bad/empty.wav', 'an empty file'],
    ['speech/spk01_m_en_librivox.ogg', 'Ogg Vorbis'],
    ['speech/spk01_m_en_librivox.flac', 'FLAC'],
    ['speech/spk01_m_en_librivox.aac', 'raw ADTS AAC'],
  ])('rejects %s (%s) with 400 BadRequest.UnsupportedFileFormat', async (file) => {
    const r = await createFrom(samples.url(`fixtures/${file}`));
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('BadRequest.UnsupportedFileFormat');
  });

  it('rejects a 24-bit WAV with 400 BadRequest.UnsupportedFileFormat (WAV must be 16-bit)', async () => {
    const wav = encodeWav([voiceLike(8, 16000)], 16000);
    // Relabel the header as 24-bit: enough for the format check, which comes first.
    wav.writeUInt16LE(24, 34);
    const r = await createFrom(samples.put('24bit.wav', wav));
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('BadRequest.UnsupportedFileFormat');
  });

  it('rejects a sample whose size exceeds 10 MB with 430 Audio.FileSizeExceed', async () => {
    // 5.3 minutes of 16 kHz 16-bit mono: just over 10 MB.
    const big = encodeWav([new Float32Array(16000 * 330)], 16000);
    expect(big.length).toBeGreaterThan(10 * 1024 * 1024);
    const r = await createFrom(samples.put('big.wav', big));
    expect(r.status).toBe(430);
    expect(r.body).toMatchObject({ code: 'Audio.FileSizeExceed', message: 'File too large' });
  });

  it('stops reading a body without Content-Length once it passes 10 MB (430 Audio.FileSizeExceed)', async () => {
    const r = await createFrom(samples.url('endless'));
    expect(r.status).toBe(430);
    expect(r.body.code).toBe('Audio.FileSizeExceed');
    await new Promise((res) => setTimeout(res, 100));
    // The endless server only gets as far as the socket buffers allow past the limit.
    expect(samples.endlessBytesSent()).toBeLessThan(40 * 1024 * 1024);
  });

  it('rejects a sample whose sample rate is below 16 kHz with Audio.AudioRateError', async () => {
    const wav = encodeWav([voiceLike(10, 8000)], 8000);
    const r = await createFrom(samples.put('8k.wav', wav));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      code: 'Audio.AudioRateError',
      message: 'File sample rate unsupported',
    });
  });

  it('rejects a silent sample with Audio.AudioSilentError', async () => {
    const r = await createFrom(samples.url('fixtures/bad/silence_10s.wav'));
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('Audio.AudioSilentError');
  });

  it('rejects a sample with too little speech (one short burst in silence) with Audio.AudioSilentError', async () => {
    const x = new Float32Array(16000 * 12);
    x.set(voiceLike(1, 16000), 16000 * 5);
    const r = await createFrom(samples.put('burst.wav', encodeWav([x], 16000)));
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('Audio.AudioSilentError');
  });

  it('rejects a 3-second clip with 400 Audio.AudioShortError "valid audio too short!"', async () => {
    const r = await createFrom(samples.put('short.wav', encodeWav([voiceLike(3, 16000)], 16000)));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      code: 'Audio.AudioShortError',
      message: 'valid audio too short!',
    });
  });

  it('rejects a truncated MP3 (0.2 s decodable) with Audio.AudioShortError', async () => {
    const r = await createFrom(samples.url('fixtures/bad/corrupt_truncated.mp3'));
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('Audio.AudioShortError');
  });

  it('rejects a WAV with broken RIFF sizes with Audio.DecoderError', async () => {
    const r = await createFrom(samples.url('fixtures/bad/wrong_header_sizes.wav'));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      code: 'Audio.DecoderError',
      message: 'Decoder audio file failed.',
    });
  });

  it('rejects an M4A that sniffs as M4A but cannot be decoded with Audio.DecoderError', async () => {
    // A valid `ftyp M4A ` box (so the content sniffs as M4A) followed by garbage.
    const ftyp = Buffer.from('00000018667479704d344120000000004d34412069736f6d', 'hex');
    const r = await createFrom(
      samples.put('garbage.m4a', Buffer.concat([ftyp, Buffer.alloc(5000, 0x55)])),
    );
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('Audio.DecoderError');
  });

  it('rejects audio longer than 60 s with 500 InternalError', async () => {
    const r = await createFrom(samples.put('long.wav', encodeWav([voiceLike(61, 16000)], 16000)));
    expect(r.status).toBe(500);
    expect(r.body.code).toBe('InternalError');
  });

  it('can answer audio errors with the unusual HTTP 430 when configured', async () => {
    emu.configure({ audioErrorHttpStatus: 430 });
    try {
      const r = await createFrom(samples.url('fixtures/bad/silence_10s.wav'));
      expect(r.status).toBe(430);
      expect(r.body.code).toBe('Audio.AudioSilentError');
    } finally {
      emu.configure({ audioErrorHttpStatus: 400 });
    }
  });

  it('creates no voice for a rejected sample', async () => {
    const before = emu.voices().length;
    await createFrom(samples.url('fixtures/bad/silence_10s.wav'));
    expect(emu.voices().length).toBe(before);
  });
});
