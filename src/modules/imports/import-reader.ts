// Reads an uploaded file as it arrives: bytes counted against the limit and decoded as strict
// UTF-8 (a BOM dropped), then CSV records (csv-parse: RFC 4180, quoted fields with delimiters and
// newlines) or NDJSON lines. Anything that makes the file unreadable is an AppError naming where.
import { Readable, Transform } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import secureJson from 'secure-json-parse';
import { AppError } from '../../shared/errors.ts';
import { MAX_ROW_CHARS, type ImportFormat } from './import-rows.ts';

export type UploadItem = { kind: 'header'; header: string[] } | { kind: 'row'; number: number; data: string[] | Record<string, unknown> };

export interface UploadOptions {
  format: ImportFormat;
  delimiter: string;
  /** Most bytes the file may hold. */
  limit: number;
}

const unreadable = (message: string) => new AppError('VALIDATION_FAILED', message, [{ field: 'body', problem: message }]);

/** Bytes to text: counted (`bytes()`), refused past the limit, refused when not UTF-8 or holding NUL. */
function decoder(limit: number): Transform & { bytes(): number } {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let bytes = 0;
  const check = (text: string) => {
    if (text.includes('\u0000')) throw unreadable('The file holds a NUL character: it is not a CSV or NDJSON text file.');
    return text;
  };
  const stream = new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > limit) return done(new AppError('PAYLOAD_TOO_LARGE', `The file is larger than the import limit of ${limit} bytes (PROPDICT_IMPORT_LIMIT).`));
      try {
        done(null, check(utf8.decode(chunk, { stream: true })));
      } catch (error) {
        done(error instanceof AppError ? error : unreadable(`The file is not valid UTF-8 (near byte ${bytes - chunk.length}).`));
      }
    },
    flush(done) {
      try {
        const rest = check(utf8.decode());
        done(null, rest === '' ? undefined : rest);
      } catch (error) {
        done(error instanceof AppError ? error : unreadable('The file ends in the middle of a UTF-8 character.'));
      }
    },
  });
  return Object.assign(stream, { bytes: () => bytes });
}

/** A failure of the upload itself (a client that went away) or of the parser, as our error. */
function asAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof CsvError) {
    const line = (error as CsvError & { lines?: number }).lines ?? '?';
    if (error.code === 'CSV_MAX_RECORD_SIZE') return unreadable(`The file is not valid CSV: the record at line ${line} is longer than ${MAX_ROW_CHARS} characters.`);
    return unreadable(`The file is not valid CSV at line ${line}: ${error.message}`);
  }
  return new AppError('VALIDATION_FAILED', 'The upload ended before the whole file arrived.', [{ field: 'body', problem: 'was cut short' }]);
}

function csvParser(delimiter: string) {
  return parse({ delimiter, bom: true, max_record_size: MAX_ROW_CHARS, relax_column_count: true, skip_empty_lines: true });
}

async function* csvItems(records: AsyncIterable<string[]>): AsyncGenerator<UploadItem> {
  let number = 0;
  for await (const record of records) {
    if (number === 0) yield { kind: 'header', header: record };
    else yield { kind: 'row', number, data: record };
    number++;
  }
  if (number === 0) throw unreadable('The file is empty: a CSV import starts with a header row.');
}

function parseLine(line: string, number: number): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = secureJson.parse(line, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw unreadable(`The file is not valid NDJSON: line ${number} is not JSON.`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw unreadable(`The file is not valid NDJSON: line ${number} is not a JSON object.`);
  return parsed as Record<string, unknown>;
}

async function* ndjsonItems(text: AsyncIterable<string>): AsyncGenerator<UploadItem> {
  let pending = '';
  let number = 0;
  let rows = 0;
  const lineOf = (raw: string): UploadItem | undefined => {
    number++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length > MAX_ROW_CHARS) throw unreadable(`The file is not valid NDJSON: line ${number} is longer than ${MAX_ROW_CHARS} characters.`);
    if (line.trim() === '') return undefined;
    rows++;
    return { kind: 'row', number, data: parseLine(line, number) };
  };
  for await (const piece of text) {
    pending += piece;
    let at: number;
    while ((at = pending.indexOf('\n')) >= 0) {
      const item = lineOf(pending.slice(0, at));
      pending = pending.slice(at + 1);
      if (item) yield item;
    }
    if (pending.length > MAX_ROW_CHARS) throw unreadable(`The file is not valid NDJSON: line ${number + 1} is longer than ${MAX_ROW_CHARS} characters.`);
  }
  const last = lineOf(pending);
  if (last) yield last;
  if (rows === 0) throw unreadable('The file is empty: an NDJSON import holds one JSON object a line.');
}

/**
 * The file's header (CSV) and rows, read as they arrive; `bytes()` tells how many have come.
 * The streams are joined at once, so a failure before the first row is read is kept and thrown
 * by the iteration, not lost.
 */
export function readUpload(body: Readable, options: UploadOptions): { items: AsyncGenerator<UploadItem>; bytes(): number } {
  const text = decoder(options.limit);
  const parser = options.format === 'csv' ? csvParser(options.delimiter) : undefined;
  let failure: unknown;
  const fail = (error: unknown) => {
    failure ??= error;
    parser?.destroy(failure as Error);
  };
  body.on('error', (error) => text.destroy(error));
  text.on('error', fail);
  parser?.on('error', fail);
  body.pipe(text);
  if (parser) text.pipe(parser);
  const inner = parser ? csvItems(parser) : ndjsonItems(text);
  async function* items(): AsyncGenerator<UploadItem> {
    try {
      yield* inner;
    } catch (error) {
      throw asAppError(failure ?? error);
    } finally {
      body.unpipe(text);
      text.destroy();
      parser?.destroy();
    }
  }
  return { items: items(), bytes: () => text.bytes() };
}
