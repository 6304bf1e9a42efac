import { randomBytes, randomUUID } from 'node:crypto';
import type {
  EmulatorOptions,
  EmulatorStats,
  FaultRule,
  PendingFault,
  TargetModel,
  VoiceSnapshot,
  VoiceStatus,
} from './types.js';

export const DEFAULT_OPTIONS: EmulatorOptions = {
  port: 0,
  host: '127.0.0.1',
  keys: ['sk-test'],
  keysByHost: {},
  deployDelayMs: 1500,
  forceUndeployed: false,
  quota: 1000,
  taskIdleTimeoutMs: 23_000,
  connectionIdleTimeoutMs: 60_000,
  sampleFetchTimeoutMs: 10_000,
  minSpeechSeconds: 5,
  maxSampleSeconds: 60,
  minSampleRateHz: 16_000,
  maxSampleBytes: 10 * 1024 * 1024,
  audioErrorHttpStatus: 400,
  closeAfterTaskFailed: true,
  audioSecondsPerChar: 0.06,
  audioChunkMs: 400,
  sentenceDelayMs: 0,
  builtinVoices: [],
  log: undefined,
};

interface VoiceRecord {
  voiceId: string;
  prefix: string;
  targetModel: TargetModel;
  url: string;
  status: VoiceStatus;
  createdAt: Date;
  modifiedAt: Date;
  seq: number;
  deployTimer: NodeJS.Timeout | undefined;
}

/**
 * DashScope prints times as `2024-12-11 13:38:02` with no zone. The Beijing service presumably
 * uses UTC+8; the emulator does the same (unverified; clients should treat it as opaque).
 */
export function formatGmt(d: Date): string {
  const t = new Date(d.getTime() + 8 * 3600_000);
  return t.toISOString().slice(0, 19).replace('T', ' ');
}

export function newRequestId(): string {
  return randomUUID();
}

function emptyStats(): EmulatorStats {
  return {
    http: { byAction: {}, total: 0, unauthorized: 0, calls: [] },
    ws: {
      connections: 0,
      rejectedUpgrades: 0,
      activeConnections: 0,
      activeTasks: 0,
      runTasks: 0,
      continueTasks: 0,
      finishTasks: 0,
      tasksFinished: 0,
      tasksFailed: {},
      binaryFramesSent: 0,
    },
  };
}

/** All mutable emulator state, shared by the HTTP and WebSocket sides. */
export class EmulatorState {
  opts: EmulatorOptions;
  private voiceMap = new Map<string, VoiceRecord>();
  private seq = 0;
  private faults: PendingFault[] = [];
  private faultSeq = 0;
  statsData: EmulatorStats = emptyStats();
  /** Every task_id ever used (a reused task_id fails; see ws.ts). */
  usedTaskIds = new Set<string>();

  constructor(opts: EmulatorOptions) {
    this.opts = opts;
  }

  log(event: string, data?: Record<string, unknown>): void {
    this.opts.log?.(event, data);
  }

  // ---- keys ----

  keyAllowed(key: string | undefined, hostHeader: string | undefined): boolean {
    if (!key) return false;
    const host = (hostHeader ?? '')
      .toLowerCase()
      .replace(/:\d+$/, '')
      .replace(/^\[|\]$/g, '');
    const perHost = this.opts.keysByHost[host];
    return (perHost ?? this.opts.keys).includes(key);
  }

  // ---- voices ----

  voiceCount(): number {
    return this.voiceMap.size;
  }

  createVoice(prefix: string, targetModel: TargetModel, url: string): VoiceRecord {
    const voiceId = `${targetModel}-${prefix}-${randomBytes(16).toString('hex')}`;
    const now = new Date();
    const rec: VoiceRecord = {
      voiceId,
      prefix,
      targetModel,
      url,
      status: 'DEPLOYING',
      createdAt: now,
      modifiedAt: now,
      seq: ++this.seq,
      deployTimer: undefined,
    };
    this.voiceMap.set(voiceId, rec);
    this.scheduleDeploy(rec);
    return rec;
  }

  /** update_voice: new audio, back to DEPLOYING (unverified; the stricter reading). */
  updateVoice(voiceId: string, url: string): boolean {
    const rec = this.voiceMap.get(voiceId);
    if (!rec) return false;
    rec.url = url;
    rec.status = 'DEPLOYING';
    rec.modifiedAt = new Date();
    this.scheduleDeploy(rec);
    return true;
  }

  deleteVoice(voiceId: string): boolean {
    const rec = this.voiceMap.get(voiceId);
    if (!rec) return false;
    clearTimeout(rec.deployTimer);
    this.voiceMap.delete(voiceId);
    return true;
  }

  getVoice(voiceId: string): VoiceSnapshot | undefined {
    const rec = this.voiceMap.get(voiceId);
    return rec ? snapshot(rec) : undefined;
  }

  setVoiceStatus(voiceId: string, status: VoiceStatus): boolean {
    const rec = this.voiceMap.get(voiceId);
    if (!rec) return false;
    clearTimeout(rec.deployTimer);
    rec.deployTimer = undefined;
    rec.status = status;
    rec.modifiedAt = new Date();
    return true;
  }

  /** Newest first (sort order unverified), optional prefix filter. */
  listVoices(prefix: string | undefined): VoiceSnapshot[] {
    return [...this.voiceMap.values()]
      .filter((v) => prefix === undefined || v.prefix === prefix)
      .sort((a, b) => b.seq - a.seq)
      .map(snapshot);
  }

  voices(): VoiceSnapshot[] {
    return [...this.voiceMap.values()].sort((a, b) => a.seq - b.seq).map(snapshot);
  }

  private scheduleDeploy(rec: VoiceRecord): void {
    clearTimeout(rec.deployTimer);
    rec.deployTimer = setTimeout(
      () => {
        rec.deployTimer = undefined;
        const f = this.opts.forceUndeployed;
        const fail =
          typeof f === 'function'
            ? f({
                voiceId: rec.voiceId,
                prefix: rec.prefix,
                targetModel: rec.targetModel,
                url: rec.url,
              })
            : f;
        rec.status = fail ? 'UNDEPLOYED' : 'OK';
        rec.modifiedAt = new Date();
        this.log('voice-deployed', { voiceId: rec.voiceId, status: rec.status });
      },
      Math.max(0, this.opts.deployDelayMs),
    );
    rec.deployTimer.unref();
  }

  // ---- faults ----

  injectFault(rule: FaultRule): string {
    const id = `fault-${++this.faultSeq}`;
    const times = rule.times ?? 1;
    if (!Number.isInteger(times) || times < 1)
      throw new Error('fault times must be an integer >= 1');
    if (rule.target === 'http' && rule.kind === 'drop-ws')
      throw new Error('drop-ws is a WebSocket fault (target: ws)');
    this.faults.push({ id, rule, remaining: times });
    return id;
  }

  clearFaults(): void {
    this.faults = [];
  }

  pendingFaults(): PendingFault[] {
    return this.faults.map((f) => ({ ...f, rule: { ...f.rule } }));
  }

  /** Take the first queued fault matching this call, if any. */
  takeFault(target: 'http' | 'ws', action: string | null): FaultRule | undefined {
    const i = this.faults.findIndex(
      (f) =>
        f.rule.target === target &&
        (target === 'ws' || f.rule.action === undefined || f.rule.action === action),
    );
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.remaining -= 1;
    if (f.remaining <= 0) this.faults.splice(i, 1);
    return f.rule;
  }

  // ---- stats ----

  stats(): EmulatorStats {
    return structuredClone(this.statsData);
  }

  reset(): void {
    for (const rec of this.voiceMap.values()) clearTimeout(rec.deployTimer);
    this.voiceMap.clear();
    this.faults = [];
    const { activeConnections, activeTasks } = this.statsData.ws;
    this.statsData = emptyStats();
    this.statsData.ws.activeConnections = activeConnections;
    this.statsData.ws.activeTasks = activeTasks;
    this.usedTaskIds.clear();
  }

  shutdown(): void {
    for (const rec of this.voiceMap.values()) clearTimeout(rec.deployTimer);
  }
}

function snapshot(rec: VoiceRecord): VoiceSnapshot {
  return {
    voice_id: rec.voiceId,
    prefix: rec.prefix,
    target_model: rec.targetModel,
    status: rec.status,
    resource_link: rec.url,
    gmt_create: formatGmt(rec.createdAt),
    gmt_modified: formatGmt(rec.modifiedAt),
  };
}
