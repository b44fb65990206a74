// Every API and repository suite runs once per database: SQLite always, PostgreSQL when
// TEST_DATABASE_URL is set. Each run gets a database of its own (a fresh PostgreSQL schema).
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDialect {
  name: 'sqlite' | 'postgres';
  /** A DATABASE_URL for a new, empty database, and a function that drops it. */
  fresh(): Promise<{ url: string; drop(): Promise<void> }>;
}

const sqlite: TestDialect = {
  name: 'sqlite',
  fresh: async () => ({ url: 'sqlite::memory:', drop: async () => {} }),
};

function postgres(baseUrl: string): TestDialect {
  return {
    name: 'postgres',
    async fresh() {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: baseUrl });
      await admin.connect();
      await admin.query(`create schema ${schema}`);
      await admin.end();
      const url = new URL(baseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return {
        url: url.toString(),
        async drop() {
          const c = new pg.Client({ connectionString: baseUrl });
          await c.connect();
          await c.query(`drop schema ${schema} cascade`);
          await c.end();
        },
      };
    },
  };
}

export const dialects: TestDialect[] = [sqlite, ...(process.env.TEST_DATABASE_URL ? [postgres(process.env.TEST_DATABASE_URL)] : [])];
