import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../../helpers/app.js';
import { makeWav, serveApp, upload, type Json, type Served } from './helpers.js';

/** The multipart routes: documented with their form in /docs/json, still streamed. */
describe('multipart forms in the OpenAPI document', () => {
  let t: Served;
  let doc: Json;
  beforeAll(async () => {
    t = await serveApp('sqlite');
    const res = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterAll(async () => t.close());

  const form = (path: string): Json => {
    const body = doc.paths[path]?.post?.requestBody;
    expect(body, `${path} has a request body`).toBeDefined();
    expect(Object.keys(body.content)).toEqual(['multipart/form-data']);
    return body.content['multipart/form-data'].schema;
  };

  it('describes the upload form: a binary file, is_public and description', () => {
    const schema = form('/api/file/upload');
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['file']);
    expect(schema.properties.file).toMatchObject({ type: 'string', format: 'binary' });
    expect(schema.properties.description).toMatchObject({ type: 'string', maxLength: 1000 });
    const flags = JSON.stringify(schema.properties.is_public);
    for (const v of ['"true"', '"false"']) expect(flags).toContain(v);
  });

  it('describes the update_content form: a binary file only', () => {
    const schema = form('/api/file/update_content/{file_id}');
    expect(schema.required).toEqual(['file']);
    expect(Object.keys(schema.properties)).toEqual(['file']);
    expect(schema.properties.file).toMatchObject({ type: 'string', format: 'binary' });
    const params = doc.paths['/api/file/update_content/{file_id}'].post.parameters as Json[];
    expect(params.map((p) => p.name)).toContain('file_id');
  });

  it('still streams both forms to the service: upload, then replace the content', async () => {
    const { access } = await registerUser(t.app);
    const first = await upload(
      t.base,
      access,
      { name: 'a.wav', bytes: makeWav(1) },
      {
        is_public: 'false',
        description: 'documented form',
      },
    );
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ is_public: false, description: 'documented form' });

    const replaced = await upload(
      t.base,
      access,
      { name: 'b.wav', bytes: makeWav(2) },
      {},
      `/api/file/update_content/${first.body.file_id}`,
    );
    expect(replaced.status).toBe(200);
    expect(replaced.body.file.file_size).toBeGreaterThan(first.body.file_size);
  });

  it('a form without its file is a 400 in the envelope, not a validation of the documented body', async () => {
    const { access } = await registerUser(t.app);
    const res = await upload(t.base, access, undefined, { description: 'no file' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 400, message: 'Missing fields: file' });
  });
});
