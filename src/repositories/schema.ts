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
  /** When an operator disabled the account; null (or absent on insert) while active. */
  disabled_at?: string | null;
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
  /**
   * `upload` (a person's file), `audition` (a clip Timbre generated) or
   * `rendition` (a sample transcoded for a provider; never listed).
   */
  origin: 'upload' | 'audition' | 'rendition';
  /** For a rendition: the sample it was made from (deleted with it). */
  derived_from?: string | null;
  /** For a rendition: what it is, e.g. `wav-s16-mono-24000:<sample sha256>`. */
  variant?: string | null;
  created_at: string;
  updated_at: string;
}

/** `revoked`: withdrawn because the sample's owner deleted it or made it private. */
export type VoiceStatus = 'pending' | 'processing' | 'ready' | 'failed' | 'revoked';

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
  /** When the creator attested the speaker's consent (cloning someone else's recording). */
  consent_at?: string | null;
  /** What the creator attested. */
  consent_statement?: string | null;
  /** Who owned the sample when the voice was made. */
  sample_owner_id?: string | null;
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

/** The keyword index: one row per distinct 2-/3-gram of a voice's lower-cased name. */
export interface VoiceNameGramsTable {
  gram: string;
  voice_id: string;
  /**
   * The voice's `created_at`, copied (it never changes), so that one gram's
   * voices can be walked in listing order from the index alone.
   */
  created_at: string;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  /** From the login's User-Agent (trimmed). */
  device: string;
  /** The id of the only refresh token that may be used next (rotated on each refresh). */
  refresh_jti: string;
  created_at: string;
  last_used_at: string;
  /** Login time + JWT_REFRESH_TTL_SEC: refreshing never extends it. */
  expires_at: string;
  revoked_at: string | null;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  /** The first characters of the key, shown in listings. */
  prefix: string;
  /** HMAC-SHA-256 of the whole key (hex). */
  key_hash: string;
  created_at: string;
  last_used_at: string | null;
}

/** A consent recording uploaded through `POST /v1/audio/voice_consents`. */
export interface VoiceConsentsTable {
  /** `cons_` + 32 hex digits. */
  id: string;
  user_id: string;
  name: string;
  /** BCP 47 tag, as sent. */
  language: string;
  /** The recording, a private file of the user. */
  file_id: string;
  created_at: string;
}

/** Per-user speech choices (the voice OpenAI's built-in names map to). */
export interface UserSpeechSettingsTable {
  user_id: string;
  default_voice_id: string | null;
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
  voice_name_grams: VoiceNameGramsTable;
  jobs: JobsTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  voice_consents: VoiceConsentsTable;
  user_speech_settings: UserSpeechSettingsTable;
  worker_heartbeats: WorkerHeartbeatsTable;
}
