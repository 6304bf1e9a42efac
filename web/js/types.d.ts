// Shapes of the JSON the page reads, as the server's OpenAPI document
// (/docs/json) describes them. Type-only: the browser never loads this file.

export interface Envelope {
  code: number;
  message: string;
  error_info?: string;
  request_id?: string;
}

export interface StoredSession {
  access_token: string;
  refresh_token: string;
  user_id: string;
  username: string;
}

export interface AudioFacts {
  duration_sec: number;
  codec: string;
  sample_rate: number;
  channels: number;
}

export interface FileItem {
  file_id: string;
  file_name: string;
  file_type: string;
  file_size: number;
  created_at: string;
  created_by_username?: string;
  is_owner: boolean;
  is_public: boolean;
  description?: string | null;
  origin?: string;
  audio: AudioFacts | null;
}

export interface FileList extends Envelope {
  files: FileItem[];
  current_page: number;
  total_pages: number;
  total_items: number;
  has_next: boolean;
}

export type Verdict =
  | 'good'
  | 'too_short'
  | 'too_long'
  | 'silent'
  | 'noisy'
  | 'clipped'
  | 'too_quiet'
  | 'not_speech'
  | 'corrupt'
  | 'wrong_type';

export interface QualityMetrics {
  durationSec: number;
  speechSec: number;
  speechRmsDbfs: number;
  peakDbfs: number;
  silenceRatio: number;
  snrDb: number;
  f0MedianHz: number | null;
}

export interface Quality {
  verdict: Verdict;
  score: number;
  usable: boolean;
  metrics?: QualityMetrics;
  advice: string[];
}

export type VoiceStatus = 'pending' | 'processing' | 'ready' | 'failed' | 'revoked';

export interface Voice {
  voice_id: string;
  voice_name: string;
  voice_gender: string;
  voice_description: string;
  voice_audition_url: string | null;
  is_public: boolean;
  created_by_user_id: string;
  created_by_username: string;
  created_at: string;
  is_created_by_current_user: boolean;
  is_shared_with_current_user: boolean;
  status: VoiceStatus;
  error_info: string | null;
}

export interface VoiceList extends Envelope {
  voices: Voice[];
  has_next: boolean;
}

export interface Share {
  user_id: string;
  username: string;
  created_at: string;
}

export interface BatchResult {
  index: number;
  code: number;
  message: string;
  error_info?: string;
  voice_id?: string;
  status?: string;
}

/** Accounts issue: GET /api/auth/sessions. */
export interface SessionItem {
  id: string;
  device: string;
  created_at: string;
  last_used_at: string;
  current: boolean;
}

/** Accounts issue: GET /api/auth/api_keys. */
export interface ApiKeyItem {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

/** Accounts issue: GET /api/file/<id>/voices. */
export interface DerivedVoice {
  voice_id: string;
  voice_name: string;
  status: string;
  created_at: string;
  created_by_username?: string;
  created_by_user_id?: string;
  consent?: boolean;
}
