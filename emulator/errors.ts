/**
 * DashScope's error codes with the messages its docs give for them (Model
 * Studio "Status codes" / "Error codes", the CosyVoice clone and WebSocket
 * API pages), written once so that the HTTP and WebSocket sides word them
 * alike. Where the docs give only a cause and no text, the message is ours
 * and says so in README.md ("Choices where the protocol is unverified").
 */

export const DOC_MESSAGES = {
  /** 401 `InvalidApiKey`. */
  invalidApiKey: 'Invalid API-key provided.',
  /** 400 `InvalidParameter`: the generic text for a missing or malformed field. */
  invalidParameter:
    'Required parameter(s) missing or invalid, please check the request parameters.',
  /** 400 `InvalidParameter` for a model name the service does not know. */
  modelNotExist: 'Model not exist.',
  /** 400 `BadRequest.ResourceNotExist`: query/update/delete of an unknown voice. */
  resourceNotExist: 'The Required resource not exist.',
  /** `Throttling.AllocationQuota`: the 1,000-voice quota (HTTP 400) or a call quota (429). */
  allocationQuota: 'Allocated quota exceeded, please increase your quota limit.',
  /** 429 `Throttling`. */
  throttling: 'Requests throttling triggered.',
  /** 429 `Throttling.RateQuota`. */
  rateQuota: 'Requests rate limit exceeded, please try again later.',
  /** 500 `InternalError`. */
  internalError:
    'An internal error has occured, please try again later or contact service support.',
  /** 500 `InternalError` when the reference audio cannot be fetched or read. */
  preprocess: 'audio preprocess server error',
  /** 503 `ModelUnavailable`. */
  modelUnavailable: 'Model is unavailable, please try again later.',
  /** 403 `Arrearage`. */
  arrearage: 'Access denied, please make sure your account is in good standing.',
  /** task-failed `InvalidParameter`: no `payload.input` (or no payload). */
  taskNull: 'task can not be null',
  /** task-failed `InvalidParameter`: SSML with a second continue-task. */
  ssmlOnce: 'Text request limit violated, expected 1.',
  /** task-failed `InvalidParameter`: the engine refused the voice (unknown, not OK, other model). */
  engine418: '[tts:]Engine return error code: 418',
  /** task-failed `CLIENT_ERROR`: mid-task silence (fixed text, whatever the timeout). */
  clientTimeout: 'request timeout after 23 seconds.',
  /** `Audio.AudioShortError`. */
  audioShort: 'valid audio too short!',
  /** `Audio.DecoderError`. */
  decoder: 'Decoder audio file failed.',
  /** `Audio.AudioRateError`. */
  audioRate: 'File sample rate unsupported',
  /** 430 `Audio.FileSizeExceed`. */
  fileTooLarge: 'File too large',
} as const;

/** The documented text for a code a `status` fault names without a message. */
export function docMessageFor(code: string): string {
  switch (code) {
    case 'InvalidApiKey':
      return DOC_MESSAGES.invalidApiKey;
    case 'InvalidParameter':
      return DOC_MESSAGES.invalidParameter;
    case 'BadRequest.ResourceNotExist':
      return DOC_MESSAGES.resourceNotExist;
    case 'Throttling':
      return DOC_MESSAGES.throttling;
    case 'Throttling.RateQuota':
      return DOC_MESSAGES.rateQuota;
    case 'Throttling.AllocationQuota':
      return DOC_MESSAGES.allocationQuota;
    case 'InternalError':
      return DOC_MESSAGES.internalError;
    case 'ModelUnavailable':
      return DOC_MESSAGES.modelUnavailable;
    case 'Arrearage':
      return DOC_MESSAGES.arrearage;
    default:
      return code;
  }
}
