import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cacheStatements } from '../../../src/repositories/statement-cache.js';

describe('the SQLite statement cache', () => {
  it('prepares a statement once per SQL text and reuses it', () => {
    const sqlite = new SQLite(':memory:');
    cacheStatements(sqlite);
    const a = sqlite.prepare('select 1 as one');
    const b = sqlite.prepare('select 1 as one');
    expect(b).toBe(a);
    expect(sqlite.prepare('select 2 as two')).not.toBe(a);
    expect(b.get()).toEqual({ one: 1 });
    sqlite.close();
  });

  it('drops the least recently used statement past its size', () => {
    const sqlite = new SQLite(':memory:');
    cacheStatements(sqlite, 2);
    const one = sqlite.prepare('select 1');
    const two = sqlite.prepare('select 2');
    expect(sqlite.prepare('select 1')).toBe(one); // now the most recent
    sqlite.prepare('select 3'); // evicts "select 2"
    expect(sqlite.prepare('select 1')).toBe(one);
    expect(sqlite.prepare('select 2')).not.toBe(two);
    sqlite.close();
  });

  it('keeps working after the schema changes under a cached statement', () => {
    const sqlite = new SQLite(':memory:');
    cacheStatements(sqlite);
    sqlite.exec('create table t (a integer)');
    sqlite.prepare('insert into t (a) values (?)').run(1);
    expect(sqlite.prepare('select * from t').all()).toEqual([{ a: 1 }]);
    sqlite.exec('alter table t add column b integer default 7');
    sqlite.prepare('insert into t (a) values (?)').run(2);
    expect(sqlite.prepare('select a, b from t order by a').all()).toEqual([
      { a: 1, b: 7 },
      { a: 2, b: 7 },
    ]);
    sqlite.close();
  });
});
