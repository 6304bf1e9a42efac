import type { VoiceView } from '../api/schemas/voices.js';
import type { VoiceWithOwner } from '../repositories/voice.repository.js';

export type { VoiceView };

/** The contract's voice object plus the new fields (status, provider, quality…). */
export function voiceView(v: VoiceWithOwner, viewerId: string): VoiceView {
  return {
    voice_id: v.id,
    voice_name: v.voice_name,
    voice_gender: v.voice_gender,
    voice_description: v.voice_description,
    voice_audition_url: v.status === 'ready' ? v.audition_file_id : null,
    call_name: v.call_name,
    is_public: v.is_public === 1,
    created_by_user_id: v.created_by,
    created_by_username: v.owner_username,
    created_at: v.created_at,
    is_created_by_current_user: v.created_by === viewerId,
    /** **new**: the owner shared this voice with the viewer. */
    is_shared_with_current_user:
      v.created_by !== viewerId && Boolean(Number(v.shared_with_viewer ?? 0)),
    status: v.status,
    error_info: v.error_info,
    provider: v.provider,
    target_model: v.target_model,
    quality: v.quality ? (JSON.parse(v.quality) as unknown) : null,
  };
}
