import { Type } from 'typebox';
import { Timestamp } from '../../shared/api-schemas.ts';
import { COLUMN_REASONS } from '../properties/column-mapping.ts';
import { IMPORT_FORMATS } from './import-rows.ts';
import { IMPORT_MODES, IMPORT_STATUSES } from './imports.service.ts';

const Count = Type.Integer({ minimum: 0 });

export const ImportSchema = Type.Object(
  {
    id: Type.String(),
    status: Type.Enum(IMPORT_STATUSES),
    format: Type.Enum(IMPORT_FORMATS),
    mode: Type.Enum(IMPORT_MODES),
    dry_run: Type.Boolean(),
    source: Type.Union([Type.String(), Type.Null()]),
    columns: Type.Array(
      Type.Object({
        column: Type.String(),
        property: Type.Union([Type.String(), Type.Null()], { description: 'The property the column writes; null when it writes none' }),
        reason: Type.Optional(Type.Enum(COLUMN_REASONS, { description: 'Why the column writes nothing (id: it is the profile id)' })),
      }),
    ),
    progress: Type.Object({
      rows_done: Count,
      rows_total: Type.Union([Count, Type.Null()], { description: 'Known once the upload is read' }),
      bytes_done: Count,
      bytes_total: Count,
    }),
    counts: Type.Object({ created: Count, updated: Count, merged: Count, rejected: Count, unchanged: Count }),
    job_id: Type.Union([Type.String(), Type.Null()]),
    reason: Type.Union([Type.String(), Type.Null()], { description: 'Why the import ended early (a cancel)' }),
    created_at: Timestamp,
    finished_at: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'Import' },
);
