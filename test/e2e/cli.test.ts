import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir, repoRoot } from '../helpers/fixtures.js';
import { mysqlAvailable } from '../helpers/db.js';
import { createOriginalDb, type OriginalDb } from '../helpers/original-db.js';
import { seedOriginal } from '../integration/cli/original-fixture.js';

/**
 * The real `timbre` command (bin/timbre.js), spawned as a user would run it,
 * from the sources (TIMBRE_FROM_SOURCE=1) so a stale build is never tested.
 */
function timbre(
  args: string[],
  env: Record<string, string>,
  stdin?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'timbre.js'), ...args], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NODE_ENV: 'test',
        TIMBRE_FROM_SOURCE: '1',
        BCRYPT_ROUNDS: '4',
        JWT_SECRET_KEY: 'cli-test-secret-cli-test-secret-0123456',
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

describe('the timbre command', { timeout: 180_000 }, () => {
  let root: string;
  let env: Record<string, string>;
  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'timbre-cli-'));
    env = { DATA_DIR: path.join(root, 'data') };
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('exits 2 on bad usage', async () => {
    const r = await timbre(['user', 'frobnicate'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command/);
  });

  it('creates, disables and lists users; a second user with the same e-mail is refused (4)', async () => {
    const created = await timbre(
      [
        'user',
        'create',
        '--username',
        'ops',
        '--email',
        'Ops@Example.com',
        '--password-stdin',
        '--json',
      ],
      env,
      'a-long-password\n',
    );
    expect(created.code).toBe(0);
    const user = JSON.parse(created.stdout);
    expect(user).toMatchObject({ username: 'ops', email: 'ops@example.com', disabled_at: null });
    expect(user.password).toBeUndefined();

    const again = await timbre(
      ['user', 'create', '--username', 'ops2', '--email', 'ops@example.com'],
      env,
    );
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/already/);

    const disabled = await timbre(['user', 'disable', 'ops@example.com', '--json'], env);
    expect(disabled.code).toBe(0);
    expect(JSON.parse(disabled.stdout).disabled_at).toMatch(/^\d{4}-/);

    const list = await timbre(['user', 'list', '--json'], env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ user_id: user.user_id, disabled_at: expect.any(String) }),
    ]);
  });

  it('issues an API key shown once, lists it without the secret, revokes it (then 4)', async () => {
    // An installation of its own: the backup test below counts users.
    const env = { DATA_DIR: path.join(root, 'keys') };
    const made = await timbre(
      ['user', 'create', '--username', 'keys', '--email', 'keys@example.com', '--json'],
      env,
    );
    expect(made.code).toBe(0);
    const created = await timbre(
      ['api-key', 'create', 'keys@example.com', '--name', 'home assistant', '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string; name: string };
    expect(key.key).toMatch(/^tmb_[A-Za-z0-9_-]{40,}$/);
    expect(key.name).toBe('home assistant');

    const listed = await timbre(['api-key', 'list', 'keys@example.com', '--json'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(key.key);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id: key.id, prefix: key.key.slice(0, 12), name: 'home assistant' }),
    ]);

    const revoked = await timbre(['api-key', 'revoke', 'keys@example.com', key.id], env);
    expect(revoked.code).toBe(0);
    const after = await timbre(['api-key', 'list', 'keys@example.com', '--json'], env);
    expect(JSON.parse(after.stdout)).toEqual([]);
    const again = await timbre(['api-key', 'revoke', 'keys@example.com', key.id], env);
    expect(again.code).toBe(4);
  });

  it('backs up and restores into an empty installation, refusing a second restore (4)', async () => {
    const b = await timbre(['backup', '--out', path.join(root, 'backups'), '--json'], env);
    expect(b.code).toBe(0);
    const { dir } = JSON.parse(b.stdout);
    const elsewhere = { DATA_DIR: path.join(root, 'restored') };
    const r = await timbre(['restore', dir, '--json'], elsewhere);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dialect: 'sqlite', blobs_verified: true });
    const list = await timbre(['user', 'list', '--json'], elsewhere);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ username: 'ops' })]);
    const refused = await timbre(['restore', dir], elsewhere);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/not empty/);
  });

  it('creates one voice per audio file and reports each; a bad file makes the exit 3', async () => {
    const folder = path.join(root, 'samples');
    mkdirSync(folder);
    copyFileSync(
      path.join(fixtureDir, 'speech', 'spk02_m_en_jfk_16k_mono.wav'),
      path.join(folder, 'jfk.wav'),
    );
    copyFileSync(path.join(fixtureDir, 'bad', 'text_renamed.wav'), path.join(folder, 'notes.wav'));
    const env2 = { DATA_DIR: path.join(root, 'voices') };
    await timbre(
      ['user', 'create', '--username', 'v', '--phone', '13800138000', '--password-stdin'],
      env2,
      'pw123456',
    );
    const r = await timbre(
      ['voices', 'create-batch', folder, '--user', '13800138000', '--json'],
      env2,
    );
    expect(r.code, r.stderr).toBe(3);
    const items = JSON.parse(r.stdout);
    expect(items).toEqual([
      expect.objectContaining({ file: 'jfk.wav', status: 'ready', voice_id: expect.any(String) }),
      expect.objectContaining({ file: 'notes.wav', status: 'rejected', code: 415 }),
    ]);
  });
});

const canImport = await mysqlAvailable();

describe.skipIf(!canImport)('timbre import-original', { timeout: 120_000 }, () => {
  let orig: OriginalDb;
  let root: string;
  beforeAll(async () => {
    orig = await createOriginalDb();
    root = mkdtempSync(path.join(tmpdir(), 'timbre-cli-import-'));
    await seedOriginal(orig, path.join(root, 'uploads'));
  });
  afterAll(async () => {
    await orig?.drop();
    rmSync(root, { recursive: true, force: true });
  });

  it('a dry run prints the report as JSON and exits 3 when rows would be skipped', async () => {
    const r = await timbre(
      [
        'import-original',
        '--from',
        orig.url,
        '--uploads',
        path.join(root, 'uploads'),
        '--dry-run',
        '--json',
      ],
      { DATA_DIR: path.join(root, 'data') },
    );
    expect(r.code, r.stderr).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      dry_run: true,
      users: { imported: 2, skipped: 1 },
      files: { imported: 3, skipped: 4 },
      voices: { imported: 1, skipped: 2 },
    });
    expect(report.problems.length).toBeGreaterThanOrEqual(7);
  });
});
