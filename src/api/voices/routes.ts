import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Readable } from 'node:stream';
import { ERRORS } from '../../errors.js';
import { requireAccessToken } from '../plugins/auth.js';
import { sendDownload } from '../files/routes.js';
import { envelope, responses } from '../schemas/common.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

export const VoiceObject = Type.Object({
  voice_id: Type.String(),
  voice_name: Type.String(),
  voice_gender: Type.String(),
  voice_description: Type.String(),
  voice_audition_url: Nullable(Type.String()),
  call_name: Nullable(Type.String()),
  is_public: Type.Boolean(),
  created_by_user_id: Type.String(),
  created_by_username: Type.String(),
  created_at: Type.String(),
  is_created_by_current_user: Type.Boolean(),
  is_shared_with_current_user: Type.Boolean(),
  status: Type.String({ description: 'pending | processing | ready | failed' }),
  error_info: Nullable(Type.String()),
  provider: Type.String(),
  target_model: Type.String(),
  quality: Type.Unknown({ description: 'the sample assessment: verdict, score, metrics, advice' }),
});

const CreateBody = Type.Object({
  audio_file_id: Type.Optional(Type.Unknown()),
  voice_name: Type.Optional(Type.Unknown()),
  voice_gender: Type.Optional(Type.Unknown()),
  voice_description: Type.Optional(Type.Unknown()),
  is_public: Type.Optional(Type.Unknown()),
});

const VoiceParams = Type.Object({ voice_id: Type.String({ maxLength: 100 }) });
const ShareItem = Type.Object({
  user_id: Type.String(),
  username: Type.String(),
  created_at: Type.Optional(Type.String()),
});

/** The contract's `voice` object in create_voice's 200. */
function createdVoice(v: {
  voice_id: string;
  voice_name: string;
  voice_audition_url: string | null;
  created_at: string;
  created_by_user_id: string;
  is_public: boolean;
  call_name: string | null;
  voice_gender: string;
  voice_description: string;
}) {
  return v;
}

/** `/api/voice/*` (contract §Voices, plus the new endpoints). */
export const voiceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { voices, tokens, files } = app.services;
  app.addHook('onRequest', requireAccessToken(tokens));

  app.post(
    '/create_voice',
    {
      config: { rateLimitProfile: 'create' },
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description:
          'Clones a voice from an uploaded sample. Waits (bounded) for the job and answers 200 as the original; with `?async=1` or `Prefer: respond-async`, or when the wait runs out, answers 202 with `voice_id` and `status`.',
        querystring: Type.Object({ async: Type.Optional(Type.String()) }),
        body: CreateBody,
        response: responses({
          200: envelope({
            voice: Type.Intersect([VoiceObject]),
            dashscope_voice_id: Nullable(Type.String()),
          }),
          202: envelope({ voice_id: Type.String(), status: Type.String(), voice: VoiceObject }),
        }),
      },
    },
    async (request, reply) => {
      const wantsAsync =
        request.query.async === '1' ||
        request.query.async === 'true' ||
        /respond-async/i.test(String(request.headers.prefer ?? ''));
      const r = await voices.create(request.userId, request.body, { wait: !wantsAsync });
      if (r.kind === 'ready') {
        return reply.status(200).send({
          code: 200,
          message: 'create voice success',
          voice: { ...r.voice, ...createdVoice(r.voice) },
          dashscope_voice_id: r.voice.call_name,
        });
      }
      return reply.status(202).header('location', `/api/voice/${r.voice.voice_id}`).send({
        code: 202,
        message: 'create voice accepted',
        voice_id: r.voice.voice_id,
        status: r.voice.status,
        voice: r.voice,
      });
    },
  );

  app.post(
    '/batch_create',
    {
      config: { rateLimitProfile: 'create' },
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description:
          '**new**: many samples → many voices (at most 20), each created asynchronously; per-item results.',
        body: Type.Object({ voices: Type.Array(CreateBody, { minItems: 1, maxItems: 20 }) }),
        response: responses({
          202: envelope({
            results: Type.Array(
              Type.Object({
                index: Type.Integer(),
                code: Type.Integer(),
                message: Type.String(),
                error_info: Type.Optional(Type.String()),
                voice_id: Type.Optional(Type.String()),
                status: Type.Optional(Type.String()),
              }),
            ),
          }),
        }),
      },
    },
    async (request, reply) => {
      const results = await voices.createMany(request.userId, request.body.voices);
      const accepted = results.filter((r) => r.code === 202).length;
      if (!accepted) {
        throw ERRORS.badRequest('No voice could be created', {
          info: 'see results for each item',
          extra: { results },
        });
      }
      return reply
        .status(202)
        .send({ code: 202, message: `${accepted} of ${results.length} voices accepted`, results });
    },
  );

  app.post(
    '/assess_sample',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description: '**new**: judges a sample before any provider call, with actionable advice.',
        body: Type.Object({ audio_file_id: Type.Optional(Type.Unknown()) }),
        response: responses({
          200: envelope({
            quality: Type.Object({
              verdict: Type.String(),
              score: Type.Number(),
              usable: Type.Boolean(),
              advice: Type.Array(Type.String()),
              metrics: Type.Optional(Type.Unknown()),
            }),
          }),
        }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'assess sample success',
      quality: await voices.assessSample(request.userId, request.body.audio_file_id),
    }),
  );

  app.post(
    '/get_voices',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        body: Type.Optional(
          Type.Object({
            key_word: Type.Optional(Type.Unknown()),
            page: Type.Optional(Type.Unknown()),
            page_size: Type.Optional(Type.Unknown()),
            gender: Type.Optional(Type.Unknown()),
            created_by_current_user: Type.Optional(Type.Unknown()),
            order: Type.Optional(Type.Unknown()),
          }),
        ),
        response: responses({
          200: envelope({ has_next: Type.Boolean(), voices: Type.Array(VoiceObject) }),
        }),
      },
    },
    async (request) => {
      const r = await voices.list(request.userId, request.body ?? {});
      return {
        code: 200,
        message: r.voices.length ? 'get voice success' : 'no voice found',
        has_next: r.hasNext,
        voices: r.voices,
      };
    },
  );

  app.get(
    '/my_voices',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        response: responses({ 200: envelope({ voices: Type.Array(VoiceObject) }) }),
      },
    },
    async (request) => {
      const list = await voices.mine(request.userId);
      return {
        code: 200,
        message: list.length ? 'get my voices success' : 'no voice found',
        voices: list,
      };
    },
  );

  app.post(
    '/verify_voice',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        body: Type.Object({ voice_id: Type.Optional(Type.Unknown()) }),
        response: responses({ 200: envelope({ voice: VoiceObject, can_access: Type.Boolean() }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'voice verification success',
      voice: await voices.verify(request.userId, request.body.voice_id),
      can_access: true,
    }),
  );

  app.get(
    '/:voice_id',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description:
          '**new**: one voice with its status (pending and failed voices only for their owner).',
        params: VoiceParams,
        response: responses({ 200: envelope({ voice: VoiceObject }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'get voice success',
      voice: await voices.get(request.userId, request.params.voice_id),
    }),
  );

  app.put(
    '/:voice_id',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description: '**new**: update name, gender, description or public flag (owner only).',
        params: VoiceParams,
        body: Type.Object({
          voice_name: Type.Optional(Type.Unknown()),
          voice_gender: Type.Optional(Type.Unknown()),
          voice_description: Type.Optional(Type.Unknown()),
          is_public: Type.Optional(Type.Unknown()),
        }),
        response: responses({ 200: envelope({ voice: VoiceObject }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'update voice success',
      voice: await voices.update(request.userId, request.params.voice_id, request.body),
    }),
  );

  app.delete(
    '/:voice_id',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description:
          '**new**: deletes the voice, its audition clip and (through a retried job) the provider voice.',
        params: VoiceParams,
        response: responses({ 200: envelope({ voice_id: Type.String() }) }),
      },
    },
    async (request) => {
      await voices.delete(request.userId, request.params.voice_id);
      return { code: 200, message: 'delete voice success', voice_id: request.params.voice_id };
    },
  );

  app.get(
    '/:voice_id/audition',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description: '**new**: streams the audition clip of a voice you may use (Range supported).',
        params: VoiceParams,
        response: responses({ 200: Type.Unknown(), 206: Type.Unknown(), 304: Type.Unknown() }),
      },
    },
    async (request, reply) => {
      const v = await voices.usable(request.userId, request.params.voice_id);
      // The clip is private to the creator; access to the voice is what was checked.
      const d = await files.download(v.created_by, v.audition_file_id ?? '', {
        range: request.headers.range,
        ifNoneMatch: request.headers['if-none-match'],
        ifModifiedSince: request.headers['if-modified-since'],
      });
      return sendDownload(reply, d);
    },
  );

  app.post(
    '/:voice_id/synthesize',
    {
      config: { rateLimitProfile: 'synthesize' },
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description: '**new**: speaks `text` with a voice you may use; streams audio.',
        params: VoiceParams,
        body: Type.Object({
          text: Type.Optional(Type.Unknown()),
          format: Type.Optional(Type.Unknown()),
          sample_rate: Type.Optional(Type.Unknown()),
          rate: Type.Optional(Type.Unknown()),
          pitch: Type.Optional(Type.Unknown()),
          volume: Type.Optional(Type.Unknown()),
        }),
        response: responses({ 200: Type.Unknown() }),
      },
    },
    async (request, reply) => {
      const r = await voices.synthesize(request.userId, request.params.voice_id, request.body);
      return reply.status(200).type(r.contentType).send(Readable.from(r.stream));
    },
  );

  app.get(
    '/:voice_id/shares',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        params: VoiceParams,
        response: responses({ 200: envelope({ shares: Type.Array(ShareItem) }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'get shares success',
      shares: await voices.shares(request.userId, request.params.voice_id),
    }),
  );

  app.post(
    '/:voice_id/shares',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description:
          '**new**: share a voice with a user (by `user_id`, or `identifier` and `type`).',
        params: VoiceParams,
        body: Type.Object({
          user_id: Type.Optional(Type.Unknown()),
          identifier: Type.Optional(Type.Unknown()),
          type: Type.Optional(Type.Unknown()),
        }),
        response: responses({ 200: envelope({ share: ShareItem }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'share voice success',
      share: await voices.share(request.userId, request.params.voice_id, request.body),
    }),
  );

  app.delete(
    '/:voice_id/shares/:user_id',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        params: Type.Object({
          voice_id: Type.String({ maxLength: 100 }),
          user_id: Type.String({ maxLength: 100 }),
        }),
        response: responses({ 200: envelope({}) }),
      },
    },
    async (request) => {
      await voices.unshare(request.userId, request.params.voice_id, request.params.user_id);
      return { code: 200, message: 'revoke share success' };
    },
  );
};
