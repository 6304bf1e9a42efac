import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import { api, voiceApp, type Json, type VoiceTestApp } from './helpers.js';

const dialects = await testDialects();

describe.each(dialects)('get_voices order on %s', (dialect) => {
  let t: VoiceTestApp;
  let user: Awaited<ReturnType<typeof registerUser>>;

  const list = async (body: Record<string, unknown>) =>
    api(t.app, user.access, 'POST', '/api/voice/get_voices', body);
  const names = (body: Json) => body.voices.map((x: Json) => x.voice_name as string);

  beforeAll(async () => {
    t = await voiceApp(dialect);
    user = await registerUser(t.app, 'orderly');
    const base = Date.parse('2026-01-01T00:00:00.000Z');
    const rows = ['first', 'second', 'third', 'fourth', 'fifth'].map((name, i) => {
      const at = new Date(base + i * 1000).toISOString();
      return {
        id: uuidv7(),
        voice_name: name,
        voice_gender: 'female' as const,
        voice_description: '',
        is_public: 0,
        sample_file_id: uuidv7(),
        audition_file_id: null,
        call_name: null,
        provider: 'fake',
        target_model: 'fake-model-v1',
        status: 'ready' as const,
        error_info: null,
        error_status: null,
        quality: null,
        created_by: user.userId,
        created_at: at,
        updated_at: at,
      };
    });
    await t.db.db.insertInto('voices').values(rows).execute();
  });
  afterAll(async () => {
    await t.close();
  });

  it('stays oldest first without order, and with order oldest', async () => {
    for (const body of [{}, { order: 'oldest' }]) {
      const res = await list(body);
      expect(res.statusCode, res.body).toBe(200);
      expect(names(res.json())).toEqual(['first', 'second', 'third', 'fourth', 'fifth']);
    }
  });

  it('lists newest first with order newest, paging from the newest', async () => {
    const p1 = await list({ order: 'newest', page_size: 2 });
    expect(p1.statusCode, p1.body).toBe(200);
    expect(names(p1.json())).toEqual(['fifth', 'fourth']);
    expect(p1.json().has_next).toBe(true);
    const p3 = await list({ order: 'newest', page_size: 2, page: 3 });
    expect(names(p3.json())).toEqual(['first']);
    expect(p3.json().has_next).toBe(false);
  });

  it('does not serve one order from the cache of the other', async () => {
    const oldest = await list({ page_size: 2 });
    const newest = await list({ page_size: 2, order: 'newest' });
    expect(names(oldest.json())).toEqual(['first', 'second']);
    expect(names(newest.json())).toEqual(['fifth', 'fourth']);
  });

  it('answers 400 with a reason for an unknown order', async () => {
    for (const order of ['desc', 1, null]) {
      const res = await list({ order });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(/order must be 'oldest' or 'newest'/);
    }
  });
});
