import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, registerUser } from '../../helpers/app.js';
import { testDialects } from '../../helpers/db.js';
import { fixture } from '../../helpers/fixtures.js';
import { serveApp, upload, type Served } from './helpers.js';

const dialects = await testDialects();

describe.each(dialects)('file origin and renames on %s', (dialect) => {
  let t: Served;
  let token: string;
  let userId: string;
  beforeAll(async () => {
    t = await serveApp(dialect);
    ({ access: token, userId } = await registerUser(t.app, 'origin'));
  });
  afterAll(async () => t.close());

  it('marks uploads as upload and generated clips as audition, in the view and the list', async () => {
    const up = await upload(t.base, token, {
      name: 'jfk.mp3',
      bytes: readFileSync(fixture('speech/spk02_m_en_jfk.mp3')),
    });
    expect(up.status).toBe(201);
    expect(up.body.origin).toBe('upload');
    const clip = await t.app.services.files.storeGenerated({
      ownerId: userId,
      name: 'audition.mp3',
      ext: 'mp3',
      bytes: readFileSync(fixture('speech/spk02_m_en_jfk.mp3')),
      description: 'Voice audition for x',
      isPublic: false,
    });
    const list = await t.app.inject({
      method: 'POST',
      url: '/api/file/list',
      headers: bearer(token),
      payload: { only_mine: true },
    });
    const byId = new Map(list.json().files.map((f: { file_id: string }) => [f.file_id, f]));
    expect(byId.get(up.body.file_id)).toMatchObject({ origin: 'upload' });
    expect(byId.get(clip.id)).toMatchObject({ origin: 'audition', file_name: 'audition.mp3' });
  });

  it('refuses a new name whose extension claims another type, and keeps the old name', async () => {
    const up = await upload(t.base, token, {
      name: 'speech.mp3',
      bytes: readFileSync(fixture('speech/spk02_m_en_jfk.mp3')),
    });
    const bad = await t.app.inject({
      method: 'PUT',
      url: `/api/file/update/${up.body.file_id}`,
      headers: bearer(token),
      payload: { file_name: 'speech.flac' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toBe('file_name must keep the .mp3 extension');
    const ok = await t.app.inject({
      method: 'PUT',
      url: `/api/file/update/${up.body.file_id}`,
      headers: bearer(token),
      payload: { file_name: '演讲.MP3' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().file.file_name).toBe('演讲.MP3');
    const row = await t.db.db
      .selectFrom('files')
      .select('file_name')
      .where('id', '=', up.body.file_id)
      .executeTakeFirstOrThrow();
    expect(row.file_name).toBe('演讲.MP3');
  });
});
