/**
 * HTTP side: the voice-enrollment route (`/api/v1/services/audio/tts/customization`) and the
 * emulator control routes under `/__emulator`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DOC_MESSAGES, docMessageFor } from './errors.js';
import { judgeSample } from './sample-judge.js';
import { type EmulatorState, newRequestId } from './state.js';
import {
  type EmulatorOptions,
  type FaultRule,
  isTargetModel,
  isVoiceStatus,
  type HttpCallRecord,
} from './types.js';

export const CUSTOMIZATION_PATH = '/api/v1/services/audio/tts/customization';
export const CONTROL_PREFIX = '/__emulator';
const MAX_BODY_BYTES = 1024 * 1024;
/** stats().http.calls keeps the most recent calls only. */
const MAX_CALL_RECORDS = 1000;
const PREFIX_RE = /^[a-z0-9]{1,10}$/;

type Json = Record<string, unknown>;

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string): ApiError => new ApiError(400, 'InvalidParameter', message);
/** A missing or unreadable field: the docs' generic InvalidParameter text. */
const missing = (): ApiError => invalid(DOC_MESSAGES.invalidParameter);
const notExist = (): ApiError =>
  new ApiError(400, 'BadRequest.ResourceNotExist', DOC_MESSAGES.resourceNotExist);
const quotaFull = (): ApiError =>
  new ApiError(400, 'Throttling.AllocationQuota', DOC_MESSAGES.allocationQuota);

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { request_id: newRequestId(), code, message });
}

/** `Authorization: Bearer <key>`; the scheme is matched case-insensitively. */
export function bearerKey(header: string | undefined): string | undefined {
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return m?.[1];
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new ApiError(413, 'InvalidParameter', 'request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requireString(input: Json, field: string): string {
  const v = input[field];
  if (v === undefined || v === null || v === '') throw missing();
  if (typeof v !== 'string') throw invalid(`Parameter ${field} must be a string`);
  return v;
}

function optionalInt(input: Json, field: string, def: number, min: number): number {
  const v = input[field];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw invalid(`Parameter ${field} must be an integer >= ${min}`);
  return v;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class HttpSide {
  /** Responses held open by a `hang` fault; ended when the emulator closes. */
  readonly hanging = new Set<ServerResponse>();

  constructor(private readonly state: EmulatorState) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    try {
      if (path === CONTROL_PREFIX || path.startsWith(`${CONTROL_PREFIX}/`)) {
        await this.control(req, res, path.slice(CONTROL_PREFIX.length));
        return;
      }
      if (path !== CUSTOMIZATION_PATH) {
        sendError(res, 404, 'NotFound', `No route for ${req.method ?? 'GET'} ${url.pathname}`);
        return;
      }
      if (req.method !== 'POST') {
        sendError(res, 405, 'MethodNotAllowed', `Method ${req.method ?? ''} not allowed`);
        return;
      }
      await this.customization(req, res);
    } catch (e) {
      if (res.headersSent) return;
      if (e instanceof ApiError) sendError(res, e.status, e.code, e.message);
      else sendError(res, 500, 'InternalError', DOC_MESSAGES.internalError);
      this.state.log('http-error', { error: String(e) });
    }
  }

  private record(call: HttpCallRecord): void {
    const calls = this.state.statsData.http.calls;
    calls.push(call);
    if (calls.length > MAX_CALL_RECORDS) calls.splice(0, calls.length - MAX_CALL_RECORDS);
  }

  private async customization(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const st = this.state;
    if (!st.keyAllowed(bearerKey(req.headers.authorization), req.headers.host)) {
      st.statsData.http.unauthorized++;
      req.resume();
      sendError(res, 401, 'InvalidApiKey', DOC_MESSAGES.invalidApiKey);
      return;
    }
    const raw = await readBody(req);
    let body: unknown;
    let parseError = false;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      parseError = true;
    }
    const input = isObject(body) && isObject(body.input) ? body.input : undefined;
    const action = typeof input?.action === 'string' ? input.action : null;
    const stats = st.statsData.http;
    stats.total++;
    const key = action ?? '(none)';
    stats.byAction[key] = (stats.byAction[key] ?? 0) + 1;

    // Injected faults come first, as a gateway or overloaded backend would answer.
    let fault = st.takeFault('http', action);
    while (fault?.kind === 'latency') {
      await sleep(fault.ms);
      fault = st.takeFault('http', action);
    }
    if (fault) {
      this.serveFault(req, res, fault, action);
      return;
    }

    try {
      if (parseError || !isObject(body)) throw missing();
      if (body.model !== 'voice-enrollment') throw invalid(DOC_MESSAGES.modelNotExist);
      if (!input) throw missing();
      const output = await this.dispatch(action, input);
      const status = 200;
      this.record({ action, status, code: null, faulted: false });
      sendJson(res, status, { output, usage: { count: 1 }, request_id: newRequestId() });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      this.record({ action, status: e.status, code: e.code, faulted: false });
      sendError(res, e.status, e.code, e.message);
    }
  }

  private serveFault(
    req: IncomingMessage,
    res: ServerResponse,
    fault: Exclude<FaultRule, { kind: 'latency' }>,
    action: string | null,
  ): void {
    const rec = (status: number, code: string | null): void =>
      this.record({ action, status, code, faulted: true });
    switch (fault.kind) {
      case 'throttling':
        rec(429, 'Throttling');
        sendError(res, 429, 'Throttling', DOC_MESSAGES.throttling);
        return;
      case 'internal-error':
        rec(500, 'InternalError');
        sendError(res, 500, 'InternalError', DOC_MESSAGES.internalError);
        return;
      case 'model-unavailable':
        rec(503, 'ModelUnavailable');
        sendError(res, 503, 'ModelUnavailable', DOC_MESSAGES.modelUnavailable);
        return;
      case 'status':
        rec(fault.status, fault.code);
        sendError(res, fault.status, fault.code, fault.message ?? docMessageFor(fault.code));
        return;
      case 'non-json': {
        const status = fault.status ?? 502;
        rec(status, null);
        const text =
          fault.body ?? '<html><body><h1>502 Bad Gateway</h1><p>upstream error</p></body></html>';
        res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
        res.end(text);
        return;
      }
      case 'hang':
        rec(0, null);
        this.hanging.add(res);
        req.socket.once('close', () => this.hanging.delete(res));
        return;
      case 'drop-ws':
        // Unreachable: injectFault refuses drop-ws for HTTP.
        rec(500, 'InternalError');
        sendError(res, 500, 'InternalError', 'drop-ws fault applied to an HTTP call');
        return;
    }
  }

  private async dispatch(action: string | null, input: Json): Promise<Json> {
    const st = this.state;
    switch (action) {
      case 'create_voice': {
        const targetModel = requireString(input, 'target_model');
        const prefix = requireString(input, 'prefix');
        const url = requireString(input, 'url');
        if (!isTargetModel(targetModel)) throw invalid(DOC_MESSAGES.modelNotExist);
        if (!PREFIX_RE.test(prefix))
          throw invalid('Parameter prefix must be 1-10 lowercase letters or digits');
        if (input.language_hints !== undefined) {
          const h = input.language_hints;
          if (!Array.isArray(h) || !h.every((x) => typeof x === 'string'))
            throw invalid('Parameter language_hints must be an array of strings');
        }
        // Ranges unverified: only the types are checked; v1/v2 accept and ignore them.
        const mpal = input.max_prompt_audio_length;
        if (mpal !== undefined && (typeof mpal !== 'number' || !(mpal > 0)))
          throw invalid('Parameter max_prompt_audio_length must be a positive number');
        if (input.enable_preprocess !== undefined && typeof input.enable_preprocess !== 'boolean')
          throw invalid('Parameter enable_preprocess must be a boolean');
        if (st.voiceCount() >= st.opts.quota) throw quotaFull();
        await this.checkSample(url);
        // Quota again: a concurrent create may have taken the last slot during the download.
        if (st.voiceCount() >= st.opts.quota) throw quotaFull();
        // No deduplication: the same request twice makes two voices (create is not idempotent).
        const rec = st.createVoice(prefix, targetModel, url);
        st.log('voice-created', { voiceId: rec.voiceId });
        return { voice_id: rec.voiceId };
      }
      case 'list_voice': {
        let prefix: string | undefined;
        if (input.prefix !== undefined && input.prefix !== null && input.prefix !== '') {
          if (typeof input.prefix !== 'string') throw invalid('Parameter prefix must be a string');
          prefix = input.prefix;
        }
        // Max page_size unverified: no cap.
        const pageIndex = optionalInt(input, 'page_index', 0, 0);
        const pageSize = optionalInt(input, 'page_size', 10, 1);
        const all = st.listVoices(prefix);
        const page = all.slice(pageIndex * pageSize, pageIndex * pageSize + pageSize);
        return {
          voice_list: page.map((v) => ({
            voice_id: v.voice_id,
            gmt_create: v.gmt_create,
            gmt_modified: v.gmt_modified,
            status: v.status,
          })),
        };
      }
      case 'query_voice': {
        const v = st.getVoice(requireString(input, 'voice_id'));
        if (!v) throw notExist();
        return {
          gmt_create: v.gmt_create,
          gmt_modified: v.gmt_modified,
          resource_link: v.resource_link,
          target_model: v.target_model,
          status: v.status,
        };
      }
      case 'update_voice': {
        const voiceId = requireString(input, 'voice_id');
        const url = requireString(input, 'url');
        if (!st.getVoice(voiceId)) throw notExist();
        await this.checkSample(url);
        if (!st.updateVoice(voiceId, url)) throw notExist();
        return {};
      }
      case 'delete_voice': {
        if (!st.deleteVoice(requireString(input, 'voice_id'))) throw notExist();
        return {};
      }
      case null:
        throw missing();
      default:
        throw invalid(`Unsupported action: ${action}`);
    }
  }

  private async checkSample(url: string): Promise<void> {
    const verdict = await judgeSample(url, this.state.opts);
    this.state.log('sample-judged', { url, verdict });
    if (!verdict.ok) throw new ApiError(verdict.status, verdict.code, verdict.message);
  }

  // ---- control routes ----

  private async control(req: IncomingMessage, res: ServerResponse, sub: string): Promise<void> {
    const st = this.state;
    const method = req.method ?? 'GET';
    const readJson = async (): Promise<unknown> => {
      const raw = await readBody(req);
      if (raw.length === 0) return {};
      try {
        return JSON.parse(raw.toString('utf8'));
      } catch {
        throw new ApiError(400, 'InvalidParameter', 'control body is not JSON');
      }
    };
    if (method === 'GET' && sub === '/state') {
      sendJson(res, 200, {
        voices: st.voices(),
        stats: st.stats(),
        faults: st.pendingFaults(),
      });
      return;
    }
    if (method === 'POST' && sub === '/faults') {
      const body = await readJson();
      const rules = Array.isArray(body) ? body : [body];
      const ids = rules.map((r) => st.injectFault(validateFaultRule(r)));
      sendJson(res, 200, { ids });
      return;
    }
    if (method === 'DELETE' && sub === '/faults') {
      st.clearFaults();
      sendJson(res, 200, {});
      return;
    }
    if (method === 'POST' && sub === '/reset') {
      st.reset();
      sendJson(res, 200, {});
      return;
    }
    if (method === 'POST' && sub === '/config') {
      const body = await readJson();
      if (!isObject(body)) throw invalid('config body must be an object');
      applyConfigPatch(st.opts, body);
      sendJson(res, 200, {});
      return;
    }
    const m = /^\/voices\/([^/]+)\/status$/.exec(sub);
    if (method === 'POST' && m) {
      const body = await readJson();
      const status = isObject(body) ? body.status : undefined;
      if (!isVoiceStatus(status)) throw invalid('status must be OK, DEPLOYING or UNDEPLOYED');
      if (!st.setVoiceStatus(decodeURIComponent(m[1]!), status)) throw notExist();
      sendJson(res, 200, {});
      return;
    }
    sendError(res, 404, 'NotFound', `No control route for ${method} ${CONTROL_PREFIX}${sub}`);
  }
}

const FAULT_KINDS = new Set([
  'throttling',
  'internal-error',
  'model-unavailable',
  'status',
  'latency',
  'non-json',
  'hang',
  'drop-ws',
]);

/** Validate a fault rule received as JSON on the control route. */
export function validateFaultRule(r: unknown): FaultRule {
  if (!isObject(r)) throw invalid('fault must be an object');
  if (r.target !== 'http' && r.target !== 'ws') throw invalid('fault target must be http or ws');
  if (typeof r.kind !== 'string' || !FAULT_KINDS.has(r.kind)) throw invalid('unknown fault kind');
  if (
    r.times !== undefined &&
    (typeof r.times !== 'number' || !Number.isInteger(r.times) || r.times < 1)
  )
    throw invalid('fault times must be an integer >= 1');
  if (r.action !== undefined && typeof r.action !== 'string')
    throw invalid('fault action must be a string');
  if (r.kind === 'latency' && (typeof r.ms !== 'number' || r.ms < 0))
    throw invalid('latency needs ms');
  if (r.kind === 'status' && (typeof r.status !== 'number' || typeof r.code !== 'string'))
    throw invalid('status fault needs status and code');
  if (r.kind === 'drop-ws' && r.target !== 'ws') throw invalid('drop-ws needs target ws');
  if (r.kind === 'drop-ws' && (typeof r.afterFrames !== 'number' || r.afterFrames < 0))
    throw invalid('drop-ws needs afterFrames');
  return r as unknown as FaultRule;
}

const NUMERIC_CONFIG = [
  'deployDelayMs',
  'quota',
  'taskIdleTimeoutMs',
  'connectionIdleTimeoutMs',
  'sampleFetchTimeoutMs',
  'minSpeechSeconds',
  'maxSampleSeconds',
  'minSampleRateHz',
  'maxSampleBytes',
  'audioSecondsPerChar',
  'audioChunkMs',
  'sentenceDelayMs',
] as const;

function applyConfigPatch(opts: EmulatorOptions, patch: Json): void {
  for (const k of NUMERIC_CONFIG) {
    const v = patch[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw invalid(`${k} must be a number >= 0`);
    opts[k] = v;
  }
  if (patch.forceUndeployed !== undefined) {
    if (typeof patch.forceUndeployed !== 'boolean')
      throw invalid('forceUndeployed must be a boolean');
    opts.forceUndeployed = patch.forceUndeployed;
  }
  if (patch.closeAfterTaskFailed !== undefined) {
    if (typeof patch.closeAfterTaskFailed !== 'boolean')
      throw invalid('closeAfterTaskFailed must be a boolean');
    opts.closeAfterTaskFailed = patch.closeAfterTaskFailed;
  }
  if (patch.audioErrorHttpStatus !== undefined) {
    if (patch.audioErrorHttpStatus !== 400 && patch.audioErrorHttpStatus !== 430)
      throw invalid('audioErrorHttpStatus must be 400 or 430');
    opts.audioErrorHttpStatus = patch.audioErrorHttpStatus;
  }
}
