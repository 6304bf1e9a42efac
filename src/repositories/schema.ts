import type { Generated } from 'kysely';

/**
 * Row types as stored. Timestamps are ISO-8601 UTC strings (`...Z`) in both
 * dialects so they sort and compare the same way; booleans are 0/1.
 */

export interface UsersTable {
  id: string;
  username: string;
  phone: string | null;
  email: string | null;
  password_hash: string;
  avatar_url: string | null;
  created_at: string;
  updated_at: string;
}

export interface CaptchasTable {
  id: string;
  identifier: string;
  code_hash: string;
  expires_at: string;
  consumed_at: string | null;
  attempts: Generated<number>;
  created_at: string;
}

export interface FilesTable {
  id: string;
  owner_id: string;
  file_name: string;
  storage_key: string;
  size: number;
  mime_type: string;
  kind: 'audio' | 'image';
  ext: string;
  is_public: number;
  description: string | null;
  sha256: string;
  audio_duration: number | null;
  audio_codec: string | null;
  audio_sample_rate: number | null;
  audio_channels: number | null;
  /** `upload` (a person's file) or `audition` (a clip Timbre generated). */
  origin: 'upload' | 'audition';
  created_at: string;
  updated_at: string;
}

export type VoiceStatus = 'pending' | 'processing' | 'ready' | 'failed';

export interface VoicesTable {
  id: string;
  voice_name: string;
  voice_gender: 'male' | 'female' | 'other';
  voice_description: string;
  is_public: number;
  sample_file_id: string;
  audition_file_id: string | null;
  call_name: string | null;
  provider: string;
  target_model: string;
  status: VoiceStatus;
  error_info: string | null;
  /** HTTP status a failed creation maps to (422 sample, 502/503 provider). */
  error_status: number | null;
  quality: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface VoiceSharesTable {
  voice_id: string;
  user_id: string;
  created_at: string;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface JobsTable {
  id: string;
  type: string;
  payload: string;
  status: JobStatus;
  /** Free-form progress the handler records to resume after a crash (JSON). */
  state: string | null;
  attempts: number;
  run_at: string;
  locked_by: string | null;
  locked_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

/** One running job worker; `seen_at` is refreshed by its heartbeat. */
export interface WorkerHeartbeatsTable {
  id: string;
  host: string;
  pid: number;
  queue: string;
  started_at: string;
  seen_at: string;
}

export interface Database {
  users: UsersTable;
  captchas: CaptchasTable;
  files: FilesTable;
  voices: VoicesTable;
  voice_shares: VoiceSharesTable;
  jobs: JobsTable;
  worker_heartbeats: WorkerHeartbeatsTable;
}
