import type { Migration } from 'kysely';
import * as m0001 from './0001-initial.js';

/** Every migration, in order. Never edit one after it has been merged: add a new one. */
export const migrations: Record<string, Migration> = {
  '0001-initial': m0001,
};
