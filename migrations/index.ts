import type { Migration } from 'kysely';
import * as m0001 from './0001-initial.js';
import * as m0002 from './0002-voice-error-status.js';
import * as m0003 from './0003-file-origin.js';
import * as m0004 from './0004-sessions-api-keys.js';
import * as m0005 from './0005-voice-name-grams.js';
import * as m0006 from './0006-sample-renditions.js';
import * as m0007 from './0007-openai-voices.js';
import * as m0008 from './0008-worker-heartbeats.js';
import * as m0009 from './0009-user-disabled.js';
import * as m0010 from './0010-voice-name-gram-order.js';

/** Every migration, in order. Never edit one after it has been merged: add a new one. */
export const migrations: Record<string, Migration> = {
  '0001-initial': m0001,
  '0002-voice-error-status': m0002,
  '0003-file-origin': m0003,
  '0004-sessions-api-keys': m0004,
  '0005-voice-name-grams': m0005,
  '0006-sample-renditions': m0006,
  '0007-openai-voices': m0007,
  '0008-worker-heartbeats': m0008,
  '0009-user-disabled': m0009,
  '0010-voice-name-gram-order': m0010,
};
