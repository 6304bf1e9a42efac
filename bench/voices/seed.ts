/**
 * Seeds a voice library of realistic shape straight through Kysely: a few
 * thousand users, `rows` voices (mostly public and ready, some private,
 * pending, processing or failed), a sprinkling of shares, and a viewer who
 * owns a few voices and has a few private ones shared with them.
 */
import { CompiledQuery } from 'kysely';
import { v4 as uuidv4, v7 as uuidv7 } from 'uuid';
import type { Db, Dialect } from '../../src/repositories/db.js';
import type {
  UsersTable,
  VoicesTable,
  VoiceSharesTable,
  VoiceStatus,
} from '../../src/repositories/schema.js';
import { nameGrams } from '../../src/repositories/voice-name-grams.js';
import { rng } from './lib.js';

const ADJECTIVES = [
  'Warm', 'Calm', 'Bright', 'Deep', 'Soft', 'Gentle', 'Crisp', 'Smooth', 'Husky', 'Cheerful',
  'Serious', 'Friendly', 'Mellow', 'Clear', 'Rich', 'Breezy', 'Steady', 'Lively', 'Quiet', 'Bold',
  'Velvet', 'Raspy', 'Youthful', 'Mature', 'Soothing', 'Energetic', 'Formal', 'Casual', 'Dreamy',
  'Sunny',
]; // prettier-ignore
const NOUNS = [
  'Narrator', 'Anchor', 'Storyteller', 'Teacher', 'Guide', 'Host', 'Announcer', 'Reader',
  'Assistant', 'Coach', 'Alice', 'Bob', 'Chen', 'Li Wei', 'Mei', 'Hiroshi', 'Sofia', 'Lucas',
  'Amara', 'Noah', 'Olivia', 'Mateo', 'Priya', 'Omar', 'Elena', 'Yuki', 'Lars', 'Fatima', 'Jonas',
  'Grace', 'Ivan', 'Zara', 'Marco', 'Ana', 'Tom', 'Lena', 'Ravi', 'Nora', 'Felix', 'Ingrid',
  'Kofi', 'Julia', 'Sven', 'Hana', 'Diego', 'Clara', 'Arjun', 'Maya', 'Leo', 'Rosa',
]; // prettier-ignore
/** Chinese names for a fifth of the voices: "<adjective>的<noun>" or "<surname><given name>". */
const CN_ADJECTIVES = ['温柔', '沉稳', '明亮', '低沉', '轻快', '亲切', '清脆', '成熟', '甜美', '磁性']; // prettier-ignore
const CN_NOUNS = ['讲述者', '主播', '老师', '导游', '播音员', '助手', '朗读者', '主持人']; // prettier-ignore
const CN_SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周']; // prettier-ignore
const CN_GIVEN = ['伟', '芳', '娜', '敏', '静', '强', '磊', '洋', '艳', '杰', '小明', '晓红']; // prettier-ignore
const USERNAMES = [
  'alice', 'bob', 'chen', 'liwei', 'mei', 'hiro', 'sofia', 'lucas', 'amara', 'noah', 'olivia',
  'mateo', 'priya', 'omar', 'elena', 'yuki', 'lars', 'fatima', 'jonas', 'grace',
]; // prettier-ignore
const DESCRIPTIONS = [
  'A warm, even voice for audiobooks and long-form narration.',
  'Recorded in a quiet room; good for product demos and tutorials.',
  'Bright and upbeat, made for short ads and announcements.',
  'My own voice, for reading messages aloud to my family.',
  'Calm delivery for meditation guides and bedtime stories.',
  'Clear diction for e-learning courses and explainers.',
  'Podcast intro voice, a little husky.',
  '',
];

/** Words the benchmark searches for: common, rare (one voice in 100,000), absent, Chinese. */
export const COMMON_KEYWORD = 'Narrator';
export const ABSENT_KEYWORD = 'Zephyrine';
export const RARE_KEYWORD = 'Quillon';
export const CJK_KEYWORD = '小明';
export const CJK_COMMON_KEYWORD = '老师';

const QUALITY = JSON.stringify({
  verdict: 'good',
  score: 0.86,
  metrics: { duration_sec: 11.2, speech_ratio: 0.83, snr_db: 31.5, clipping: 0, rms_dbfs: -21.4 },
  advice: [],
});
/** A bcrypt hash of nothing anyone types; seeded users never log in. */
const PASSWORD_HASH = '$2b$04$Qk2QbJfV3q8S1nqY9n8c7uQm0nQ4Yl0Yq7xk0lJj2gk0b2b2b2b2a';

const placeholders = new Map<string, string>();

/**
 * One multi-row INSERT, compiled by hand: Kysely's builder spends more time
 * building and compiling a 17,000-value statement than the database spends
 * storing it. Column order comes from the first row.
 */
function multiRowInsert<T extends object>(tableName: string, rows: T[]): CompiledQuery {
  const cols = Object.keys(rows[0]!) as (keyof T)[];
  const key = `${cols.length}x${rows.length}`;
  let values = placeholders.get(key);
  if (!values) {
    const one = `(${cols.map(() => '?').join(',')})`;
    values = Array.from({ length: rows.length }, () => one).join(',');
    placeholders.set(key, values);
  }
  const params: unknown[] = [];
  for (const r of rows) for (const c of cols) params.push(r[c]);
  return CompiledQuery.raw(
    `insert into ${tableName} (${cols.map(String).join(', ')}) values ${values}`,
    params,
  );
}

export interface SeedResult {
  users: number;
  voices: number;
  shares: number;
  viewerOwned: number;
  viewerShared: number;
  usersSec: number;
  voicesSec: number;
  sharesSec: number;
  totalSec: number;
}

export async function seedVoices(
  db: Db,
  dialect: Dialect,
  rows: number,
  viewerId: string,
  onProgress?: (done: number) => void,
): Promise<SeedResult> {
  const rand = rng(20240601);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const t0 = performance.now();

  // Users: a few thousand.
  const nUsers = Math.min(3000, Math.max(20, Math.round(rows / 330)));
  const userIds: string[] = [];
  const baseMs = Date.parse('2023-06-01T00:00:00Z');
  const users: UsersTable[] = [];
  for (let i = 0; i < nUsers; i++) {
    const id = uuidv4();
    userIds.push(id);
    const at = new Date(baseMs + i * 60_000).toISOString();
    users.push({
      id,
      username: `${pick(USERNAMES)}${i}`.slice(0, 18),
      phone: null,
      email: `user${i}@bench.example`,
      password_hash: PASSWORD_HASH,
      avatar_url: null,
      created_at: at,
      updated_at: at,
    });
  }
  for (let i = 0; i < users.length; i += 1000) {
    await db
      .insertInto('users')
      .values(users.slice(i, i + 1000))
      .execute();
  }
  const t1 = performance.now();

  // Voices: ~2 years of history, oldest first; ids are UUIDv7 of their creation time.
  const start = Date.parse('2024-01-01T00:00:00Z');
  const stepMs = Math.max(1, Math.floor((2 * 365 * 86_400_000) / Math.max(1, rows)));
  const viewerEvery = Math.max(1, Math.floor(rows / 60));
  const perStatement = dialect === 'sqlite' ? 1000 : 5000; // SQLite: ≤ 32,766 bound values
  const BATCH = 5000;
  const shares: VoiceSharesTable[] = [];
  const voiceName = (i: number): string => {
    if (i % 100_000 === 50_000) return `${RARE_KEYWORD} ${pick(NOUNS)}`;
    const r = rand();
    if (r < 0.1) return `${pick(CN_ADJECTIVES)}的${pick(CN_NOUNS)}`;
    if (r < 0.2) return `${pick(CN_SURNAMES)}${pick(CN_GIVEN)}`;
    return `${pick(ADJECTIVES)} ${pick(NOUNS)}${rand() < 0.3 ? ` ${1 + Math.floor(rand() * 99)}` : ''}`;
  };
  let viewerOwned = 0;
  let viewerShared = 0;
  for (let b = 0; b < rows; b += BATCH) {
    const batch: VoicesTable[] = [];
    for (let i = b; i < Math.min(rows, b + BATCH); i++) {
      const t = start + i * stepMs + Math.floor(rand() * stepMs);
      const created = new Date(t).toISOString();
      const r = rand();
      let status: VoiceStatus;
      let isPublic: number;
      if (r < 0.8) [status, isPublic] = ['ready', 1];
      else if (r < 0.92) [status, isPublic] = ['ready', 0];
      else if (r < 0.95)
        [status, isPublic] = [rand() < 0.5 ? 'pending' : 'processing', rand() < 0.7 ? 1 : 0]; // prettier-ignore
      else [status, isPublic] = ['failed', rand() < 0.7 ? 1 : 0];
      const viewerOwns = i % viewerEvery === viewerEvery - 1;
      // Most voices come from a minority of users.
      const owner = viewerOwns ? viewerId : userIds[Math.floor(rand() ** 2 * nUsers)]!;
      if (viewerOwns) viewerOwned++;
      const id = uuidv7({ msecs: t });
      const ready = status === 'ready';
      batch.push({
        id,
        voice_name: voiceName(i),
        voice_gender: pick(['male', 'female', 'female', 'male', 'other'] as const),
        voice_description: pick(DESCRIPTIONS),
        is_public: isPublic,
        sample_file_id: uuidv4(),
        audition_file_id: ready ? uuidv4() : null,
        call_name: ready ? `cosyvoice-v2-u${id.slice(-9, -1)}-${id.slice(0, 8)}` : null,
        provider: 'dashscope',
        target_model: 'cosyvoice-v2',
        status,
        error_info: status === 'failed' ? 'The audio sample is not usable for cloning' : null,
        error_status: status === 'failed' ? 422 : null,
        quality: QUALITY,
        created_by: owner,
        created_at: created,
        updated_at: new Date(t + 4000).toISOString(),
      });
      // Shares: some private ready voices are shared, a few of them with the viewer.
      if (ready && !isPublic && !viewerOwns && rand() < 0.05) {
        const toViewer = rand() < Math.min(0.5, 40 / Math.max(1, rows * 0.12 * 0.05));
        const to = toViewer ? viewerId : userIds[Math.floor(rand() * nUsers)]!;
        if (to !== owner) {
          shares.push({ voice_id: id, user_id: to, created_at: created });
          if (toViewer) viewerShared++;
        }
      }
    }
    // The keyword index rows, as VoiceRepository.insert writes them.
    const grams = batch.flatMap((v) =>
      nameGrams(v.voice_name).map((gram) => ({ gram, voice_id: v.id, created_at: v.created_at })),
    );
    // Three values a row: SQLite takes ≤ 32,766 bound values, MySQL ≤ 65,535.
    const gramsPerStatement = dialect === 'sqlite' ? 10_000 : 20_000;
    await db.transaction().execute(async (trx) => {
      for (let i = 0; i < batch.length; i += perStatement) {
        await trx.executeQuery(multiRowInsert('voices', batch.slice(i, i + perStatement)));
      }
      for (let i = 0; i < grams.length; i += gramsPerStatement) {
        await trx.executeQuery(
          multiRowInsert('voice_name_grams', grams.slice(i, i + gramsPerStatement)),
        );
      }
    });
    onProgress?.(Math.min(rows, b + BATCH));
  }
  const t2 = performance.now();

  for (let i = 0; i < shares.length; i += BATCH) {
    const chunk = shares.slice(i, i + BATCH);
    await db.transaction().execute(async (trx) => {
      for (let j = 0; j < chunk.length; j += 2000) {
        await trx
          .insertInto('voice_shares')
          .values(chunk.slice(j, j + 2000))
          .execute();
      }
    });
  }
  const t3 = performance.now();
  return {
    users: nUsers,
    voices: rows,
    shares: shares.length,
    viewerOwned,
    viewerShared,
    usersSec: (t1 - t0) / 1000,
    voicesSec: (t2 - t1) / 1000,
    sharesSec: (t3 - t2) / 1000,
    totalSec: (t3 - t0) / 1000,
  };
}
