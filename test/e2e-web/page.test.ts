import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.js';

describe('web page', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp('sqlite');
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves the page at / with every view and the module script', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const html = res.body;
    for (const id of [
      'login-form',
      'register-form',
      'dropzone',
      'file-input',
      'assess',
      'create-form',
      'batch-form',
      'library-filters',
      'voice-grid',
      'file-list',
      'logout',
    ]) {
      expect(html).toContain(`id="${id}"`);
    }
    expect(html).toMatch(/<script type="module" src="\/app\.js"><\/script>/);
    expect(html).toContain('href="/style.css"');
    expect(html).toContain('今天天气怎么样？');
    // Everything is local: no external scripts, styles or fonts.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('serves the script as JavaScript and the style sheet as CSS', async () => {
    const js = await t.app.inject({ method: 'GET', url: '/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.body).toContain('/api/voice/create_voice?async=1');
    expect(js.body).toContain('/api/auth/refresh');
    expect(js.body).not.toMatch(/https?:\/\//);

    const css = await t.app.inject({ method: 'GET', url: '/style.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(css.body).not.toMatch(/@import|url\(\s*['"]?https?:/);
  });

  it('leaves the API to the API', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/voice/my_voices' });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 401 });
  });
});
