import { Command } from 'commander';
import { openDatabase } from '../repositories/db.js';
import { migrateToLatest } from '../repositories/migrate.js';
import { openOriginalSource } from '../repositories/original.repository.js';
import { ImportOriginalService, type ImportReport } from '../services/import-original.service.js';
import { DiskBlobStore } from '../storage/disk.js';
import { cliConfig, cliDatabaseReady, EXIT, emit, Progress, type OutputOptions } from './common.js';

interface Options extends OutputOptions {
  from: string;
  uploads: string;
  dryRun?: boolean;
}

/**
 * `timbre import-original --from mysql://… --uploads DIR [--dry-run] [--json]`:
 * the original's users, files and voices into the configured database and
 * storage. Exit 0 when every row was taken, 3 when some were skipped.
 */
export function importOriginalCommand(): Command {
  return new Command('import-original')
    .description("import the original app's users, files and voices (ids and passwords kept)")
    .requiredOption('--from <url>', "the original's MySQL database, mysql://user:pass@host/db")
    .requiredOption(
      '--uploads <dir>',
      "the original's upload folder (holding files/audio, files/images)",
    )
    .option('--dry-run', 'check every row and upload, write nothing, report what would happen')
    .option('--json', 'print the report as JSON')
    .action(async (opts: Options) => {
      process.exitCode = await runImportOriginal(opts);
    });
}

export async function runImportOriginal(opts: Options): Promise<number> {
  const config = cliConfig();
  await cliDatabaseReady(config);
  const db = openDatabase(config.database);
  const source = await openOriginalSource(opts.from);
  const progress = Progress.for(opts);
  try {
    await migrateToLatest(db.db);
    const blobs = new DiskBlobStore(config.storage.dir);
    if (!opts.dryRun) await blobs.init();
    const report = await new ImportOriginalService(db.db, blobs).run(source, {
      uploadsDir: opts.uploads,
      dryRun: opts.dryRun === true,
      maxBytes: config.storage.maxBytes,
      onPhase: (table, total) => progress.start(table, total),
      onProgress: (_table, done) => progress.update(done),
    });
    progress.stop();
    emit(opts, report, () => describe(report));
    const skipped = report.users.skipped + report.files.skipped + report.voices.skipped;
    return skipped ? EXIT.partial : EXIT.ok;
  } finally {
    progress.stop();
    await source.close();
    await db.close();
  }
}

function describe(r: ImportReport): string {
  const verb = r.dry_run ? 'would import' : 'imported';
  const lines = [r.dry_run ? 'dry run: nothing was written' : 'import done'];
  for (const t of ['users', 'files', 'voices'] as const) {
    const c = r[t];
    lines.push(
      `  ${t.padEnd(7)} ${c.total} in the original: ${verb} ${c.imported}, ` +
        `already here ${c.existing}, skipped ${c.skipped}`,
    );
  }
  lines.push(`  bytes   ${r.bytes} ${r.dry_run ? 'to copy' : 'copied'}`);
  if (r.problems.length) {
    lines.push('rows not taken as they were:');
    for (const p of r.problems) lines.push(`  ${p.table} ${p.id}: ${p.outcome}: ${p.reason}`);
  }
  return lines.join('\n') + '\n';
}
