import type { Migration } from 'kysely';
import * as m0001 from './0001-initial.js';
import * as m0002 from './0002-voice-error-status.js';
import * as m0003 from './0003-file-origin.js';
import * as m0008 from './0008-worker-heartbeats.js';

/** Every migration, in order. Never edit one after it has been merged: add a new one. */
export const migrations: Record<string, Migration> = {
  '0001-initial': m0001,
  '0002-voice-error-status': m0002,
  '0003-file-origin': m0003,
  '0008-worker-heartbeats': m0008,
};
