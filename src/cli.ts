// The command line: `propdict <command>`. Admin commands act as the operator on the database
// that DATABASE_URL names, so an operator can bootstrap without curl.
import { parseArgs } from 'node:util';
import { ConfigError, StartupError, loadConfig, type Config } from './config.ts';
import { createDb } from './db/create-db.ts';
import { migrateToLatest } from './db/migrate.ts';
import { SCOPES, type Principal, type Scope } from './modules/auth/auth.ts';
import { createServices, type Services } from './services.ts';
import { startServer } from './server.ts';
import { createLocalBroadcast } from './shared/broadcast.ts';
import { systemClock } from './shared/clock.ts';
import { randomIds } from './shared/ids.ts';
import { AppError } from './shared/errors.ts';
import { CliFailure, runExport, runImport, type ServerTarget } from './transfer-cli.ts';

const USAGE = `Usage: propdict <command> [options]

Commands:
  serve                                       start the HTTP server (default)
  migrate                                     apply pending database migrations
  tenants create --name NAME                  create a tenant
  workspaces create --tenant ID --name NAME [--id ID] [--property-limit N]
                                              create a workspace (system properties seeded)
  keys create --tenant ID --name NAME --scopes a,b [--workspaces 1,2]
                                              create an API key; prints its token once
  keys list --tenant ID                       list live API keys
  keys revoke --tenant ID --key KEY_ID        revoke an API key
  import FILE --workspace WS [--dry-run] [--mode upsert|create|update] [--source NAME]
              [--format csv|ndjson] [--delimiter C] [--errors PATH]
                                              import a CSV or NDJSON file into a running server
  export --workspace WS [--format csv|ndjson] [--filter 'property[op]=value' ...]
         [--properties a,b] [--include-pii] [-o FILE]
                                              export profiles from a running server
  (import and export: --url or PROPDICT_URL, --token or PROPDICT_TOKEN)

Scopes: ${SCOPES.join(', ')}
Configuration comes from the environment (see README): DATABASE_URL, PORT, HOST, ...`;

const operator: Principal = { kind: 'operator' };

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function intOption(value: string | undefined, name: string): number {
  if (value === undefined || !/^\d+$/.test(value)) fail(`--${name} must be a positive integer`);
  return Number(value);
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') fail(`--${name} is required`);
  return value;
}

async function withServices<T>(config: Config, fn: (services: Services) => Promise<T>): Promise<T> {
  const { db } = createDb(config.databaseUrl);
  try {
    await migrateToLatest(db);
    // One command in one process: nothing to tell other servers through a broadcast.
    return await fn(createServices({ db, config, clock: systemClock, ids: randomIds, broadcast: createLocalBroadcast() }));
  } finally {
    await db.destroy();
  }
}

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

const say = (stream: NodeJS.WriteStream) => (line: string) => void stream.write(`${line}\n`);

/** `import` and `export`, against a running server. */
async function transfer(command: 'import' | 'export', file: string | undefined, values: Record<string, string | boolean | string[] | undefined>): Promise<void> {
  const option = (name: string) => values[name] as string | undefined;
  const target: ServerTarget = {
    url: option('url') ?? process.env.PROPDICT_URL ?? fail('--url or PROPDICT_URL is required: the running server'),
    token: option('token') ?? process.env.PROPDICT_TOKEN ?? fail('--token or PROPDICT_TOKEN is required: an API key'),
    workspace: intOption(option('workspace'), 'workspace'),
  };
  const format = option('format');
  if (format !== undefined && format !== 'csv' && format !== 'ndjson') fail('--format must be csv or ndjson');
  if (command === 'import') {
    await runImport(
      target,
      { file: file ?? fail('propdict import: name the file to import'), format, mode: option('mode'), source: option('source'), dryRun: values['dry-run'] === true, delimiter: option('delimiter'), errors: option('errors') },
      say(process.stdout),
    );
    return;
  }
  const output = option('output');
  await runExport(target, { format: format ?? 'csv', filters: (values.filter as string[] | undefined) ?? [], properties: option('properties'), includePii: values['include-pii'] === true, output }, say(process.stderr));
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      tenant: { type: 'string' },
      id: { type: 'string' },
      'property-limit': { type: 'string' },
      scopes: { type: 'string' },
      workspaces: { type: 'string' },
      key: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      workspace: { type: 'string' },
      'dry-run': { type: 'boolean' },
      mode: { type: 'string' },
      source: { type: 'string' },
      format: { type: 'string' },
      delimiter: { type: 'string' },
      errors: { type: 'string' },
      filter: { type: 'string', multiple: true },
      properties: { type: 'string' },
      'include-pii': { type: 'boolean' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command = 'serve', sub] = positionals;
  if (values.help || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  if (command === 'import' || command === 'export') return transfer(command, sub, values);

  const config = loadConfig();
  switch (`${command}${sub ? ` ${sub}` : ''}`) {
    case 'serve':
      return startServer(config);
    case 'migrate': {
      const { db } = createDb(config.databaseUrl);
      try {
        const applied = await migrateToLatest(db);
        process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'The database is up to date.\n');
      } finally {
        await db.destroy();
      }
      return;
    }
    case 'tenants create':
      return withServices(config, async (s) => print(await s.tenants.create(required(values.name, 'name'))));
    case 'workspaces create':
      return withServices(config, async (s) =>
        print(
          await s.workspaces.create(operator, intOption(values.tenant, 'tenant'), {
            name: required(values.name, 'name'),
            id: values.id === undefined ? undefined : intOption(values.id, 'id'),
            property_limit: values['property-limit'] === undefined ? undefined : intOption(values['property-limit'], 'property-limit'),
          }),
        ),
      );
    case 'keys create': {
      const scopes = required(values.scopes, 'scopes').split(',').map((s) => s.trim());
      const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
      if (unknown.length > 0) fail(`unknown scopes: ${unknown.join(', ')} (known: ${SCOPES.join(', ')})`);
      const workspaceIds = values.workspaces?.split(',').map((w) => intOption(w.trim(), 'workspaces'));
      return withServices(config, async (s) => {
        const key = await s.apiKeys.create(operator, intOption(values.tenant, 'tenant'), {
          name: required(values.name, 'name'),
          scopes: scopes as Scope[],
          workspace_ids: workspaceIds,
        });
        print(key);
        process.stderr.write('The token is shown only now; keep it.\n');
      });
    }
    case 'keys list':
      return withServices(config, async (s) => print((await s.apiKeys.list(operator, intOption(values.tenant, 'tenant'), 1000)).data));
    case 'keys revoke':
      return withServices(config, async (s) => {
        await s.apiKeys.revoke(operator, intOption(values.tenant, 'tenant'), required(values.key, 'key'));
        process.stdout.write(`Revoked ${values.key}.\n`);
      });
    default:
      fail(`Unknown command "${positionals.join(' ')}".\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof CliFailure) {
    process.stderr.write(`propdict: ${error.message}\n`);
    process.exit(1);
  }
  if (error instanceof ConfigError || error instanceof StartupError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  if (error instanceof AppError) {
    const details = error.details.map((d) => `\n  ${d.field}: ${d.problem}`).join('');
    process.stderr.write(`${error.code}: ${error.message}${details}\n`);
    process.exit(1);
  }
  if (error instanceof Error && 'code' in error && error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') fail(`${error.message}\n\n${USAGE}`);
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
