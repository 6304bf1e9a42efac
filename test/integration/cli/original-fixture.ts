import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { fixtureDir } from '../../helpers/fixtures.js';
import { newId, type OriginalDb } from '../../helpers/original-db.js';

/** A 1×1 PNG. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

export interface Seeded {
  alice: string;
  bob: string;
  carol: string;
  good: { wav: string; png: string; mp3: string };
  bad: { missing: string; text: string; traversal: string; carols: string };
  voice: string;
  badVoices: { missingAudition: string; gender: string };
  /** Original upload bytes by file id. */
  bytes: Map<string, Buffer>;
  /** The voice's naive created_at as written. */
  voiceCreatedAt: string;
}

/**
 * The original's rows, made up here: three users (one with a plain-text
 * password, one whose e-mail repeats another's in other case), good and bad
 * files (missing upload, text content, a path outside the folder, a skipped
 * owner's), one good voice and two bad ones.
 */
export async function seedOriginal(orig: OriginalDb, uploads: string): Promise<Seeded> {
  const c = orig.conn;
  const audioDir = path.join(uploads, 'files', 'audio');
  const imageDir = path.join(uploads, 'files', 'images');
  mkdirSync(audioDir, { recursive: true });
  mkdirSync(imageDir, { recursive: true });
  const bytes = new Map<string, Buffer>();
  await c.query('SET FOREIGN_KEY_CHECKS = 0');

  const alice = newId();
  const bob = newId();
  const carol = newId();
  const png = newId();
  const hash = (p: string) => bcrypt.hashSync(p, 4);
  await c.query(
    'INSERT INTO users (id, username, phone_number, email, password, avatar_url, created_at) VALUES ?',
    [
      [
        [
          alice.bin,
          'alice',
          '13800138000',
          'Alice@Example.com',
          hash('alice-pass'),
          png.bin,
          '2023-05-01 08:00:00',
        ],
        [
          bob.bin,
          '鲍勃',
          '13900139000',
          'alice@example.com',
          hash('bob-pass-1'),
          null,
          '2023-06-01 09:30:00',
        ],
        [
          carol.bin,
          'carol',
          '13700137000',
          'carol@example.com',
          'plaintext',
          null,
          '2023-07-01 10:00:00',
        ],
      ],
    ],
  );

  const file = async (
    owner: Buffer,
    name: string,
    diskName: string,
    dir: string | undefined,
    content: Buffer | undefined,
    mime: string,
    isPublic = 1,
    id = newId(),
  ) => {
    if (dir && content) writeFileSync(path.join(dir, diskName), content);
    if (content) bytes.set(id.uuid, content);
    await c.query(
      'INSERT INTO files (file_id, file_name, file_path, file_size, file_type, created_at, created_by, is_public, description) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        id.bin,
        name,
        diskName,
        content?.length ?? 1234,
        mime,
        '2023-08-01 12:00:00',
        owner,
        isPublic,
        `about ${name}`,
      ],
    );
    return id.uuid;
  };
  const hex = () => newId().bin.toString('hex');
  const wav = readFileSync(path.join(fixtureDir, 'speech', 'spk02_m_en_jfk_16k_mono.wav'));
  const mp3 = readFileSync(path.join(fixtureDir, 'speech', 'spk01_m_en_librivox.mp3'));
  const text = readFileSync(path.join(fixtureDir, 'bad', 'text_renamed.wav'));

  const good = {
    wav: await file(alice.bin, '我的录音.wav', `${hex()}.wav`, audioDir, wav, 'audio/wav', 0),
    png: await file(alice.bin, 'me.png', `${hex()}.png`, imageDir, PNG, 'image/png', 1, png),
    mp3: await file(alice.bin, 'preview.mp3', `${hex()}.mp3`, audioDir, mp3, 'audio/mpeg'),
  };
  const bad = {
    missing: await file(bob.bin, 'gone.wav', `${hex()}.wav`, undefined, undefined, 'audio/wav'),
    text: await file(bob.bin, 'notes.wav', `${hex()}.wav`, audioDir, text, 'audio/wav'),
    traversal: await file(
      bob.bin,
      'passwd',
      '../../etc/passwd',
      undefined,
      undefined,
      'text/plain',
    ),
    carols: await file(carol.bin, 'carol.wav', `${hex()}.wav`, audioDir, wav, 'audio/wav'),
  };

  const voice = newId();
  const missingAudition = newId();
  const gender = newId();
  const voiceCreatedAt = '2024-01-02 03:04:05';
  await c.query(
    'INSERT INTO voices (voice_id, voice_name, voice_url, created_at, created_by, is_public, call_name, voice_gender, voice_description) VALUES ?',
    [
      [
        [
          voice.bin,
          '温柔女声',
          Buffer.from(good.mp3.replace(/-/g, ''), 'hex'),
          voiceCreatedAt,
          alice.bin,
          1,
          'cosyvoice-prefix-abc123',
          'female',
          'soft',
        ],
        [
          missingAudition.bin,
          'lost',
          Buffer.from(bad.missing.replace(/-/g, ''), 'hex'),
          voiceCreatedAt,
          bob.bin,
          0,
          'cosyvoice-prefix-def456',
          'male',
          '',
        ],
        [
          gender.bin,
          'robot',
          Buffer.from(good.wav.replace(/-/g, ''), 'hex'),
          voiceCreatedAt,
          alice.bin,
          0,
          'cosyvoice-prefix-ghi789',
          'robot',
          '',
        ],
      ],
    ],
  );
  await c.query('SET FOREIGN_KEY_CHECKS = 1');
  return {
    alice: alice.uuid,
    bob: bob.uuid,
    carol: carol.uuid,
    good,
    bad,
    voice: voice.uuid,
    badVoices: { missingAudition: missingAudition.uuid, gender: gender.uuid },
    bytes,
    voiceCreatedAt,
  };
}
