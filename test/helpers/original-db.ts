import { randomBytes } from 'node:crypto';
import { createConnection, type Connection } from 'mysql2/promise';
import { MYSQL_ADMIN_URL } from './db.js';

/**
 * A private MariaDB database with the original app's schema
 * (spec/original-schema.md), for import tests. Rows are made up by the test.
 */
export interface OriginalDb {
  url: string;
  conn: Connection;
  drop(): Promise<void>;
}

export const ORIGINAL_SCHEMA = [
  `CREATE TABLE files (
     file_id BINARY(16) PRIMARY KEY,
     file_name VARCHAR(255) NOT NULL,
     file_path VARCHAR(255) NOT NULL,
     file_size INT NOT NULL,
     file_type VARCHAR(50) NOT NULL,
     created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
     created_by BINARY(16) NOT NULL,
     is_public TINYINT(1) DEFAULT 1,
     description TEXT NULL
   ) CHARACTER SET utf8mb4`,
  `CREATE TABLE users (
     id BINARY(16) PRIMARY KEY,
     username VARCHAR(18) NOT NULL,
     phone_number CHAR(11) NULL,
     email VARCHAR(50) NULL,
     password VARCHAR(255) NOT NULL,
     theme_color INT NULL,
     avatar_url BINARY(16) NULL,
     created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
     last_login_at TIMESTAMP NULL,
     FOREIGN KEY (avatar_url) REFERENCES files(file_id) ON DELETE CASCADE
   ) CHARACTER SET utf8mb4`,
  `ALTER TABLE files ADD FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE CASCADE`,
  `CREATE TABLE voices (
     voice_id BINARY(16) PRIMARY KEY,
     voice_name VARCHAR(50) NOT NULL,
     voice_url BINARY(16) NOT NULL,
     created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
     created_by BINARY(16) NOT NULL,
     is_public TINYINT(1) DEFAULT 0,
     call_name VARCHAR(255) NOT NULL,
     voice_gender VARCHAR(6) NOT NULL,
     voice_description TEXT NOT NULL,
     FOREIGN KEY (voice_url) REFERENCES files(file_id) ON DELETE CASCADE,
     FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE CASCADE
   ) CHARACTER SET utf8mb4`,
];

export async function createOriginalDb(): Promise<OriginalDb> {
  const name = `timbre_orig_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = await createConnection({ uri: MYSQL_ADMIN_URL });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.end();
  const url = new URL(MYSQL_ADMIN_URL);
  url.pathname = `/${name}`;
  const conn = await createConnection({ uri: url.toString(), charset: 'utf8mb4' });
  // Users and files reference each other: create, then add the cycle's last key.
  await conn.query('SET FOREIGN_KEY_CHECKS = 0');
  for (const stmt of ORIGINAL_SCHEMA) await conn.query(stmt);
  await conn.query('SET FOREIGN_KEY_CHECKS = 1');
  return {
    url: url.toString(),
    conn,
    drop: async () => {
      await conn.end();
      const a = await createConnection({ uri: MYSQL_ADMIN_URL });
      await a.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await a.end();
    },
  };
}

/** 16 random bytes and the UUID string clients of the original hold for them. */
export function newId(): { bin: Buffer; uuid: string } {
  const bin = randomBytes(16);
  const h = bin.toString('hex');
  return {
    bin,
    uuid: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`,
  };
}
