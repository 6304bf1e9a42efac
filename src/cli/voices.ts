import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import pino from 'pino';
import { createServices } from '../container.js';
import { AppError } from '../errors.js';
import { loggerOptions } from '../logger.js';
import { ALLOWED_TYPES, extensionOf } from '../services/file-types.js';
import type { UploadPart } from '../services/file.service.js';
import { CliError, EXIT, emit, Progress, type OutputOptions } from './common.js';
import { findUser, withDatabase } from './user.js';
import { workerOptions } from '../jobs/loop-room.js';

/** One audio file's outcome. `status` is the voice's, or `rejected` when none was made. */
export interface BatchItem {
  file: string;
  status: 'ready' | 'failed' | 'pending' | 'processing' | 'revoked' | 'rejected';
  voice_id?: string;
  sample_file_id?: string;
  code: number;
  message: string;
  error_info?: string;
}

interface BatchOptions extends OutputOptions {
  user: string;
  gender: string;
  description?: string;
  public?: boolean;
  wait: boolean;
}

const AUDIO_NAMES = new Set(
  ALLOWED_TYPES.filter((t) => t.kind === 'audio').flatMap((t) => t.names),
);

/** `timbre voices create-batch <folder>`: one voice per audio file in the folder. */
export function voicesCommand(): Command {
  const voices = new Command('voices').description('manage voices');
  voices
    .command('create-batch')
    .description(
      'create one voice per audio file in a folder (named after the file), a result per file',
    )
    .argument('<folder>', 'folder of audio samples (mp3, wav, ogg, aac, m4a, flac)')
    .requiredOption('--user <user>', 'owner: user id, e-mail or phone')
    .option('--gender <gender>', 'male, female or other', 'other')
    .option('--description <text>', 'voice description (default: the sample file name)')
    .option('--public', 'make the voices public')
    .option('--no-wait', 'queue the creations and return (a server or worker finishes them)')
    .option('--json', 'print the results as JSON')
    .action(async (folder: string, opts: BatchOptions) => {
      const names = (
        await readdir(folder, { withFileTypes: true }).catch(() => {
          throw new CliError(`cannot read folder ${folder}`, EXIT.usage);
        })
      )
        .filter((e) => e.isFile() && AUDIO_NAMES.has(extensionOf(e.name)))
        .map((e) => e.name)
        .sort();
      if (!names.length) throw new CliError(`no audio files in ${folder}`, EXIT.usage);
      const items = await withDatabase((db, config) =>
        createBatch(db, config, folder, names, opts),
      );
      emit(
        opts,
        items,
        () =>
          items
            .map(
              (i) =>
                `${i.file}: ${i.status}${i.voice_id ? ` ${i.voice_id}` : ''}` +
                (i.status === 'ready' || i.status === 'pending' || i.status === 'processing'
                  ? ''
                  : ` (${i.message}${i.error_info ? `: ${i.error_info}` : ''})`),
            )
            .join('\n') + '\n',
      );
      const ok = opts.wait ? ['ready'] : ['pending', 'processing', 'ready'];
      process.exitCode = items.every((i) => ok.includes(i.status)) ? EXIT.ok : EXIT.partial;
    });
  return voices;
}

async function createBatch(
  db: Parameters<Parameters<typeof withDatabase>[0]>[0],
  config: Parameters<Parameters<typeof withDatabase>[0]>[1],
  folder: string,
  names: string[],
  opts: BatchOptions,
): Promise<BatchItem[]> {
  const owner = await findUser(db.db, opts.user);
  // Service logs go to stderr at warn: stdout is the result.
  const log = pino(loggerOptions('warn'), pino.destination(2));
  const services = await createServices(config, db, log);
  const progress = Progress.for(opts);
  const items: BatchItem[] = [];
  try {
    progress.start('upload', names.length);
    // Waiting, this command runs the jobs itself, so it counts as a live worker
    // (creation is refused while no worker is alive anywhere).
    if (opts.wait) {
      await services.queue.startWorker(services.handlers, workerOptions(config.jobs));
      await services.heartbeats.start();
    }
    for (const name of names) {
      items.push(await createOne(services, owner.id, folder, name, opts));
      progress.update(items.length);
    }
    progress.stop();
    const queued = items.filter((i) => i.voice_id && i.status !== 'failed');
    if (opts.wait && queued.length) {
      progress.start('voices', queued.length);
      let done = 0;
      for (const item of queued) {
        try {
          const r = await services.voices.waitFor(
            item.voice_id!,
            owner.id,
            config.voice.readyTimeoutSec * 1000,
          );
          item.status = r.voice.status;
          item.code = r.kind === 'ready' ? 200 : 202;
          item.message = r.kind === 'ready' ? 'create voice success' : 'still being created';
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          Object.assign(item, {
            status: 'failed',
            code: err.status,
            message: err.message,
            ...(err.info ? { error_info: err.info } : {}),
          });
        }
        progress.update(++done);
      }
      progress.stop();
    }
  } finally {
    progress.stop();
    await services.close();
  }
  return items;
}

async function createOne(
  services: Awaited<ReturnType<typeof createServices>>,
  userId: string,
  folder: string,
  name: string,
  opts: BatchOptions,
): Promise<BatchItem> {
  const rejected = (err: AppError): BatchItem => ({
    file: name,
    status: 'rejected',
    code: err.status,
    message: err.message,
    ...(err.info ? { error_info: err.info } : {}),
  });
  async function* parts(): AsyncGenerator<UploadPart> {
    yield { kind: 'field', field: 'is_public', value: opts.public ? 'true' : 'false' };
    yield {
      kind: 'file',
      field: 'file',
      filename: name,
      stream: createReadStream(path.join(folder, name)),
    };
  }
  let fileId: string;
  try {
    fileId = (await services.files.upload(userId, parts())).file_id;
  } catch (err) {
    if (err instanceof AppError && err.status < 500) return rejected(err);
    throw err;
  }
  const stem = name.slice(0, name.length - extensionOf(name).length - 1);
  try {
    const r = await services.voices.create(
      userId,
      {
        audio_file_id: fileId,
        voice_name: [...stem].slice(0, 50).join('') || 'voice',
        voice_gender: opts.gender,
        voice_description: opts.description ?? name,
        is_public: opts.public ? 'true' : 'false',
      },
      { wait: false },
    );
    return {
      file: name,
      status: r.voice.status,
      voice_id: r.voice.voice_id,
      sample_file_id: fileId,
      code: 202,
      message: 'create voice accepted',
    };
  } catch (err) {
    // No voice: the sample uploaded for it goes too.
    await services.files.delete(userId, fileId).catch(() => undefined);
    if (err instanceof AppError && err.status < 500) return rejected(err);
    throw err;
  }
}
