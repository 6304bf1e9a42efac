import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import type { JsonCache } from '../cache/cache.js';
import { AppError, ERRORS } from '../errors.js';
import { ProviderError, type VoiceProvider } from '../providers/provider.js';
import type { VoiceRepository, VoiceWithOwner } from '../repositories/voice.repository.js';
import type { FileService } from '../services/file.service.js';
import type { AudioWork } from '../workers/audio-work.js';
import { providerFailure } from '../services/provider-errors.js';
import { SampleRenditions } from '../services/sample-rendition.js';
import { providerPrefix } from '../services/voice.service.js';
import { PollSchedule, ReadyPace } from './poll-schedule.js';
import { allProviderVoices } from './provider-voices.js';
import type { VoiceEvents } from './voice-events.js';
import { MAX_ATTEMPTS, type JobContext, type JobDefinition, type JobQueue } from './queue.js';

export interface CreateVoiceJobDeps {
  voices: VoiceRepository;
  files: FileService;
  /** The CPU pool's audio work (sample renditions are made there). */
  audio?: AudioWork;
  provider: VoiceProvider;
  queue: JobQueue;
  cache: JsonCache;
  /** Wakes requests waiting for the voice (in this process or, with Redis, any). */
  events: VoiceEvents;
  log: Logger;
  settings: {
    auditionText: string;
    readyTimeoutSec: number;
    /** First poll interval while the provider deploys the voice (ms). */
    pollMinMs?: number;
    pollMaxMs?: number;
  };
  /** The provider's recent pace, which the polling follows (a new one by default). */
  pace?: ReadyPace;
  /** Seconds from the voice row's creation to its final state. */
  onFinished?: (outcome: 'ready' | 'failed', seconds: number) => void;
  now?: () => Date;
}

/** A failure no retry will fix: the job compensates and marks the voice failed. */
class PermanentFailure extends Error {
  constructor(readonly appError: AppError) {
    super(appError.info ?? appError.message);
  }
}

/**
 * Creation, step by step. Every step first looks at what earlier runs left
 * (the voice row is the record), so a run killed anywhere resumes:
 * 1. enrol at the provider (or adopt what a killed run enrolled: the prefix is per voice);
 * 2. wait until the provider says the voice is usable;
 * 3. synthesize the audition clip and store it as a private file (its id is
 *    written to the row first, so a re-run finds it);
 * 4. mark the voice ready. On failure: delete the provider voice and the clip.
 */
export function createVoiceJob(deps: CreateVoiceJobDeps): JobDefinition<'create_voice'> {
  const now = deps.now ?? (() => new Date());
  const audio = deps.audio;
  const pace = deps.pace ?? new ReadyPace();
  const renditions = new SampleRenditions(
    deps.files,
    audio ? (bytes, opts) => audio.transcode(bytes, opts) : undefined,
  );
  const finish = async (v: VoiceWithOwner, outcome: 'ready' | 'failed') => {
    await deps.cache.bump('voices');
    deps.events.finished(v.id);
    deps.onFinished?.(outcome, (now().getTime() - Date.parse(v.created_at)) / 1000);
  };

  /** Undo what was made, then record why. Idempotent. */
  const fail = async (voiceId: string, err: AppError, log: Logger) => {
    const v = await deps.voices.findById(voiceId);
    if (!v || v.status === 'failed' || v.status === 'ready') return;
    if (v.call_name) {
      try {
        await deps.provider.deleteVoice(v.call_name);
      } catch (delErr) {
        log.warn(
          { err: delErr, call_name: v.call_name },
          'provider delete failed; left to the purge job',
        );
      }
    }
    // A create whose answer was lost leaves a provider voice we never recorded:
    // sweep the voice's own prefix too, in a job retried until it succeeds.
    await deps.queue.enqueue(
      'purge_provider_prefix',
      { provider: v.provider, prefix: providerPrefix(v.created_by, v.id) },
      { jobId: `purge_provider_prefix:${v.id}` },
    );
    if (v.audition_file_id) await deps.files.deleteGenerated(v.audition_file_id);
    const ok = await deps.voices.transition(voiceId, ['pending', 'processing'], {
      status: 'failed',
      error_info: err.info ? `${err.message}: ${err.info}` : err.message,
      error_status: err.status,
      call_name: null,
      audition_file_id: null,
      updated_at: now().toISOString(),
    });
    if (ok) {
      log.warn({ voice_id: voiceId, reason: err.message, info: err.info }, 'voice creation failed');
      await finish(v, 'failed');
    }
  };

  const run = async ({ voiceId }: { voiceId: string }, ctx: JobContext) => {
    const log = ctx.log.child({ voice_id: voiceId });
    let v = await deps.voices.findById(voiceId);
    // Revoked: the sample's owner withdrew it; the withdrawal cleans up.
    if (!v || v.status === 'ready' || v.status === 'failed' || v.status === 'revoked') return;
    // The first run moves the voice out of `pending` before anything reaches the
    // provider: a voice found `pending` here was never enrolled by any run.
    let firstRun = false;
    if (v.status === 'pending') {
      firstRun = await deps.voices.transition(voiceId, ['pending'], {
        status: 'processing',
        updated_at: now().toISOString(),
      });
      await deps.cache.bump('voices');
    }
    try {
      // 1. Enrol, or adopt what an interrupted run enrolled (none on the first run).
      /** When this run's create answered: the provider's pace is measured from it. */
      let enrolledAt: number | undefined;
      if (!v.call_name) {
        const prefix = providerPrefix(v.created_by, v.id);
        const leftovers = firstRun ? [] : await allProviderVoices(deps.provider, prefix);
        let callName = leftovers[0]?.id;
        for (const extra of leftovers.slice(1)) await deps.provider.deleteVoice(extra.id);
        if (callName) {
          log.info({ call_name: callName }, 'adopted a provider voice from an interrupted run');
        } else {
          const sample = await deps.files.findById(v.sample_file_id);
          // Deleted, or made private by its owner since the voice was queued.
          if (!sample || (sample.owner_id !== v.created_by && sample.is_public !== 1)) {
            throw new PermanentFailure(
              ERRORS.unprocessable('The sample file was deleted', {
                info: 'upload the sample again and retry',
              }),
            );
          }
          // The upload itself when the provider takes it, else a rendition it takes.
          let sent;
          try {
            sent = await renditions.forProvider(
              sample,
              deps.provider.sampleRequirements(v.target_model),
            );
          } catch (err) {
            if (err instanceof AppError && err.status < 500) throw new PermanentFailure(err);
            throw err;
          }
          const created = await deps.provider.createVoice({
            sampleUrl: deps.files.signedUrl(sent.id).url,
            readSample: async () => deps.files.readAll(sent),
            sampleKey: sent.storage_key,
            targetModel: v.target_model,
            prefix,
            // Just looked (or a first run: none can exist): the provider need not ask again.
            existingVoiceIds: leftovers.map((l) => l.id),
          });
          callName = created.id;
          enrolledAt = Date.now();
          log.info({ call_name: callName }, 'provider voice created');
        }
        await deps.voices.update(voiceId, { call_name: callName, updated_at: now().toISOString() });
        v = { ...v, call_name: callName };
      }

      // 2. Wait until usable: closely around the provider's usual time when
      // this run enrolled the voice, else starting fast and backing off.
      const deadline = Date.now() + deps.settings.readyTimeoutSec * 1000;
      const schedule = new PollSchedule(
        { minMs: deps.settings.pollMinMs ?? 100, maxMs: deps.settings.pollMaxMs ?? 2000 },
        enrolledAt === undefined ? undefined : pace.expected(v.target_model),
      );
      const pollsFrom = enrolledAt ?? Date.now();
      for (;;) {
        const pv = await deps.provider.getVoice(v.call_name!);
        if (pv.status === 'ok') {
          if (enrolledAt !== undefined) pace.record(v.target_model, Date.now() - enrolledAt);
          break;
        }
        if (pv.status === 'undeployed') {
          throw new PermanentFailure(
            ERRORS.unprocessable('The voice provider rejected the sample during review', {
              info: 'use a clean recording of 10–20 s of continuous speech by one speaker',
            }),
          );
        }
        if (Date.now() > deadline) {
          throw new PermanentFailure(
            ERRORS.unavailable('The voice provider did not finish preparing the voice in time', {
              info: `still deploying after ${deps.settings.readyTimeoutSec} s; try again later`,
            }),
          );
        }
        const wait = Math.min(
          schedule.next(Date.now() - pollsFrom),
          Math.max(0, deadline - Date.now()) + 1,
        );
        await new Promise((r) => setTimeout(r, wait));
      }

      // 3. The audition clip, stored as a private file of the creator.
      let auditionId = v.audition_file_id;
      if (!auditionId) {
        auditionId = uuidv7();
        await deps.voices.update(voiceId, {
          audition_file_id: auditionId,
          updated_at: now().toISOString(),
        });
      }
      if (!(await deps.files.findById(auditionId))) {
        const chunks: Uint8Array[] = [];
        for await (const c of deps.provider.synthesize({
          voiceId: v.call_name!,
          targetModel: v.target_model,
          text: deps.settings.auditionText,
          format: 'mp3',
          sampleRate: 22050,
        })) {
          chunks.push(c);
        }
        const bytes = Buffer.concat(chunks);
        if (!bytes.length) throw new ProviderError('unavailable', 'the provider returned no audio');
        await deps.files.storeGenerated({
          id: auditionId,
          ownerId: v.created_by,
          name: 'audition.mp3',
          ext: 'mp3',
          bytes,
          description: `Voice audition for ${v.voice_name}`,
          isPublic: false,
        });
      }

      // 4. Ready — only now, with the clip in place.
      if (
        await deps.voices.transition(voiceId, ['processing', 'pending'], {
          status: 'ready',
          error_info: null,
          error_status: null,
          updated_at: now().toISOString(),
        })
      ) {
        log.info({ call_name: v.call_name, audition_file_id: auditionId }, 'voice ready');
        await finish(v, 'ready');
      }
    } catch (err) {
      if (err instanceof PermanentFailure) {
        await fail(voiceId, err.appError, log);
        return;
      }
      if (err instanceof ProviderError && err.kind === 'not_found') {
        // The provider lost a voice it had just accepted: its fault, not the user's request.
        await fail(
          voiceId,
          ERRORS.badGateway('The voice provider lost the voice while creating it', {
            info: 'try creating the voice again',
          }),
          log,
        );
        return;
      }
      if (err instanceof ProviderError && !err.retryable) {
        await fail(voiceId, providerFailure(err), log);
        return;
      }
      throw err; // transient: the queue retries with backoff
    }
  };

  return {
    maxAttempts: MAX_ATTEMPTS.create_voice,
    run,
    onExhausted: async ({ voiceId }, err, ctx) => {
      await fail(voiceId, providerFailureOrStorage(err), ctx.log.child({ voice_id: voiceId }));
    },
  };
}

function providerFailureOrStorage(err: unknown): AppError {
  if (err instanceof ProviderError || err instanceof AppError) return providerFailure(err);
  return ERRORS.unavailable('The voice could not be stored', {
    info: 'a storage error occurred; try again later',
  });
}
