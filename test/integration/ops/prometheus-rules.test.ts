import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/fixtures.js';

/** promtool (Debian's `prometheus` package); CI installs it, so there it is never skipped. */
const promtool = spawnSync('promtool', ['--version']).status === 0;
if (!promtool && process.env.CI)
  throw new Error('promtool is required in CI (apt-get install prometheus)');

const ops = path.join(repoRoot, 'ops');

function run(args: string[]) {
  const r = spawnSync('promtool', args, { cwd: path.join(ops, 'prometheus'), encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!promtool)('Prometheus alert rules and the Grafana dashboard', () => {
  it('the alert rules are valid', () => {
    const r = run(['check', 'rules', 'timbre.rules.yml']);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS: 9 rules found/);
  });

  it('each alert fires on its trouble and stays quiet when healthy (promtool test rules)', () => {
    const r = run(['test', 'rules', 'timbre.rules.test.yml']);
    expect(r.status, r.out).toBe(0);
  });

  it('every dashboard query is valid PromQL', () => {
    const dash = JSON.parse(readFileSync(path.join(ops, 'grafana', 'timbre.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    // Each query as a recording rule: `promtool check rules` parses every expression.
    const dir = mkdtempSync(path.join(tmpdir(), 'timbre-dashboard-'));
    try {
      const file = path.join(dir, 'dashboard.rules.yml');
      const rules = exprs
        .map(
          (e, i) =>
            `      - record: timbre:dashboard_query_${i}\n        expr: ${JSON.stringify(e)}`,
        )
        .join('\n');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
      const r = run(['check', 'rules', file]);
      expect(r.status, r.out).toBe(0);
      expect(r.out).toContain(`SUCCESS: ${exprs.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the rules and the dashboard only use metrics Timbre exports (or up and the workers gauge)', async () => {
    const { Metrics } = await import('../../../src/metrics.js');
    const m = new Metrics(async () => ({ waiting: 0, active: 0, delayed: 0, failed: 0 }), tmpdir());
    const exported = new Set(
      (await m.registry.getMetricsAsJSON()).flatMap((x) =>
        String(x.type) === 'histogram'
          ? [`${x.name}_bucket`, `${x.name}_count`, `${x.name}_sum`]
          : [x.name],
      ),
    );
    const text =
      readFileSync(path.join(ops, 'prometheus', 'timbre.rules.yml'), 'utf8') +
      readFileSync(path.join(ops, 'grafana', 'timbre.json'), 'utf8');
    const used = new Set(text.match(/\btimbre_[a-z0-9_]+/g));
    used.delete('timbre_workers_alive'); // the worker heartbeat gauge, exported by the health code
    for (const name of used) expect(exported, name).toContain(name);
  });
});

describe('the storage gauges', () => {
  it('report the local file system free and total bytes', async () => {
    const { Metrics } = await import('../../../src/metrics.js');
    const m = new Metrics(undefined, tmpdir());
    const free = (await m.registry.getSingleMetric('timbre_storage_free_bytes')!.get()).values[0]!
      .value;
    const size = (await m.registry.getSingleMetric('timbre_storage_size_bytes')!.get()).values[0]!
      .value;
    expect(free).toBeGreaterThan(0);
    expect(size).toBeGreaterThanOrEqual(free);
  });
});
