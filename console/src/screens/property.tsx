import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiFailure, call, followJob, type ChangeFields, type ErrorDetail, type Job, type Property } from '../api';
import { displayName, when } from '../format';
import { Link, navigate } from '../router';
import { IDENTITY_ROLES, mergeFunctionsFor } from '../rules';
import { can, useMe } from '../session';
import { ConfirmButton, errorsFor, Field, FieldErrors, JobProgress, Problem, TypeSelect, usePage } from '../ui';
import { breaksValues, ChangeFlow, changeOf } from './property-change';
import { bodyOf, draftOf, emptyDraft, nextKey, NUMERIC, patchOf, STRINGISH, type Draft, type Role } from './property-form';

/** A save refused because another save landed first: the version the person had, and the current one. */
interface Conflict {
  had: number;
  now: Property | null;
}

function OptionsEditor({ draft, set, errors, disabled }: { draft: Draft; set: (d: Partial<Draft>) => void; errors: ErrorDetail[]; disabled: boolean }) {
  const list = useRef<HTMLOListElement>(null);
  const [focusLast, setFocusLast] = useState(false);
  useEffect(() => {
    if (!focusLast) return;
    list.current?.querySelector<HTMLInputElement>('li:last-child input')?.focus();
    setFocusLast(false);
  }, [focusLast]);
  const rows = draft.options;
  const update = (i: number, change: Partial<Draft['options'][number]>) => set({ options: rows.map((r, j) => (j === i ? { ...r, ...change } : r)) });
  const move = (i: number, by: number) => {
    const next = [...rows];
    const [row] = next.splice(i, 1);
    next.splice(i + by, 0, row);
    set({ options: next });
  };
  const general = errorsFor(errors, 'options').filter((e) => !/^options\[\d+\]/.test(e.field));
  return (
    <fieldset class="options">
      <legend>Options (the values an enum takes, in display order)</legend>
      <FieldErrors id="f-options" errors={general} />
      {rows.length === 0 ? <p class="hint">No option yet: an enum needs at least one. Add one below.</p> : null}
      <ol ref={list}>
        {rows.map((o, i) => {
          const label = o.value || `option ${i + 1}`;
          return (
            <li key={o.key} class="option-row">
              <Field field={`options[${i}].value`} label={`Value of option ${i + 1}`} errors={errors}>
                {(c) => <input {...c} value={o.value} disabled={disabled} onInput={(e) => update(i, { value: e.currentTarget.value })} />}
              </Field>
              <Field field={`options[${i}].label`} label={`Label of option ${i + 1}`} errors={errors}>
                {(c) => <input {...c} value={o.label} disabled={disabled} onInput={(e) => update(i, { label: e.currentTarget.value })} />}
              </Field>
              <div class="field check">
                <input id={`f-option-hidden-${o.key}`} type="checkbox" checked={o.hidden} disabled={disabled} onChange={(e) => update(i, { hidden: e.currentTarget.checked })} />
                <label for={`f-option-hidden-${o.key}`}>Hidden</label>
              </div>
              <div class="row-actions">
                <button type="button" disabled={disabled || i === 0} aria-label={`Move ${label} up`} onClick={() => move(i, -1)}>
                  ↑
                </button>
                <button type="button" disabled={disabled || i === rows.length - 1} aria-label={`Move ${label} down`} onClick={() => move(i, 1)}>
                  ↓
                </button>
                <button type="button" disabled={disabled} aria-label={`Remove ${label}`} onClick={() => set({ options: rows.filter((_, j) => j !== i) })}>
                  Remove
                </button>
              </div>
            </li>
          );
        })}
      </ol>
      <button
        type="button"
        disabled={disabled}
        onClick={() => {
          set({ options: [...rows, { key: nextKey(), value: '', label: '', hidden: false }] });
          setFocusLast(true);
        }}
      >
        Add option
      </button>
    </fieldset>
  );
}

export function PropertyScreen({ ws, name }: { ws: number; name?: string }) {
  const me = useMe();
  const creating = name === undefined;
  const [stored, setStored] = useState<Property | null>(null);
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [failure, setFailure] = useState<unknown>(null);
  const [loadFailure, setLoadFailure] = useState<unknown>(null);
  const [localErrors, setLocalErrors] = useState<ErrorDetail[]>([]);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [job, setJob] = useState<Job | null>(null);
  const [change, setChange] = useState<ChangeFields | null>(null);
  const [changeErrors, setChangeErrors] = useState<ErrorDetail[]>([]);
  const title = creating ? 'New property' : stored ? displayName(stored) : (name ?? '');
  const page = usePage(creating ? `New property` : `Property ${name}`);

  const load = async () => {
    if (creating) return;
    setLoadFailure(null);
    try {
      const { data } = await call(api.GET('/v1/workspaces/{ws}/properties/{name}', { params: { path: { ws, name } } }));
      setStored(data);
      setDraft(draftOf(data));
      setFailure(null);
      setConflict(null);
      setLocalErrors([]);
    } catch (error) {
      setLoadFailure(error);
    }
  };
  useEffect(() => {
    void load();
  }, [ws, name]);

  const set = (change: Partial<Draft>) => {
    setSaved(null);
    setDraft((d) => {
      const next = { ...d, ...change };
      // A merge function the new type does not take falls back to update, the default.
      if (!mergeFunctionsFor(next.data_type, next.multi_valued).includes(next.merge_function)) next.merge_function = 'update';
      return next;
    });
  };

  const writable = can(me, 'properties:write');
  const locked = !writable || Boolean(stored?.system);
  const apiErrors = failure instanceof ApiFailure ? failure.details : [];
  const errors = [...apiErrors, ...localErrors, ...changeErrors];
  const pendingChange = stored && !creating ? changeOf(stored, draft) : null;
  const openChange = () => {
    setFailure(null);
    setSaved(null);
    setChange(pendingChange);
  };
  const landed = async (outcome?: string) => {
    setChange(null);
    setChangeErrors([]);
    await load();
    setSaved(outcome ?? 'The change landed.');
  };

  const save = async (event: Event) => {
    event.preventDefault();
    setFailure(null);
    setSaved(null);
    setConflict(null);
    const created = creating ? bodyOf(draft) : null;
    const patched = creating ? null : patchOf(stored!, draft);
    const metadataProblem = (created ?? patched)!.metadataProblem;
    const local = metadataProblem ? [{ field: 'metadata', problem: metadataProblem }] : [];
    setLocalErrors(local);
    if (local.length > 0) return;
    if (patched && Object.keys(patched.body).length === 0) {
      setSaved('Nothing to save: no field was changed.');
      return;
    }
    setBusy(true);
    try {
      if (created) {
        const { data } = await call(api.POST('/v1/workspaces/{ws}/properties', { params: { path: { ws } }, body: created.body }));
        navigate(`/w/${ws}/properties/${encodeURIComponent(data.name)}`, true);
        return;
      }
      const { data } = await call(
        api.PATCH('/v1/workspaces/{ws}/properties/{name}', { params: { path: { ws, name: stored!.name }, header: { 'if-match': `"${stored!.version}"` } }, body: patched!.body }),
      );
      setStored(data);
      setDraft(draftOf(data));
      setSaved(`Saved: now version ${data.version}.`);
    } catch (error) {
      if (error instanceof ApiFailure && error.status === 412) {
        let now: Property | null = null;
        try {
          now = (await call(api.GET('/v1/workspaces/{ws}/properties/{name}', { params: { path: { ws, name: stored!.name } } }))).data;
        } catch {
          // The explanation stands without the current version.
        }
        setConflict({ had: stored!.version, now });
      } else setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  const archive = async () => {
    setFailure(null);
    try {
      await call(api.DELETE('/v1/workspaces/{ws}/properties/{name}', { params: { path: { ws, name: stored!.name } } }));
      await load();
      setSaved('Archived: hidden from lists and profile reads; its values are kept.');
    } catch (error) {
      setFailure(error);
    }
  };
  const restore = async () => {
    setFailure(null);
    try {
      const { data } = await call(api.POST('/v1/workspaces/{ws}/properties/{name}/restore', { params: { path: { ws, name: stored!.name } } }));
      setStored(data);
      setDraft(draftOf(data));
      setSaved('Restored.');
    } catch (error) {
      setFailure(error);
    }
  };
  const purge = async () => {
    setFailure(null);
    try {
      const { data } = await call(api.DELETE('/v1/workspaces/{ws}/properties/{name}', { params: { path: { ws, name: stored!.name }, query: { purge: true } } }));
      const answer = data as unknown as { job: Job };
      const end = await followJob(ws, answer.job, setJob);
      setSaved(end.status === 'done' ? 'Purged: the definition and every value are gone; the name is free.' : `The purge ${end.status}.`);
    } catch (error) {
      setFailure(error);
    }
  };

  if (loadFailure) {
    return (
      <main id="main">
        <h1 tabIndex={-1} ref={page.ref}>
          Property {name}
        </h1>
        <Problem failure={loadFailure} />
        <Link href={`/w/${ws}/properties`}>Back to the properties</Link>
      </main>
    );
  }
  if (!creating && !stored) return <p role="status">Loading…</p>;

  const d = draft;
  const merges = mergeFunctionsFor(d.data_type, d.multi_valued);
  const check = (field: keyof Draft, label: string, hint?: string) => (
    <div class="field check">
      <input id={`f-${field}`} type="checkbox" checked={d[field] as boolean} disabled={locked} onChange={(e) => set({ [field]: e.currentTarget.checked })} aria-describedby={errorsFor(errors, field).length ? `f-${field}-errors` : undefined} />
      <label for={`f-${field}`}>{label}</label>
      {hint ? <p class="hint">{hint}</p> : null}
      <FieldErrors id={`f-${field}`} errors={errorsFor(errors, field)} />
    </div>
  );

  return (
    <main id="main">
      <p>
        <Link href={`/w/${ws}/properties`}>← Properties</Link>
      </p>
      <h1 tabIndex={-1} ref={page.ref}>
        {title}
      </h1>
      {stored ? (
        <p class="meta">
          <code>{stored.name}</code> · version {stored.version} · created {when(stored.created_at)} · changed {when(stored.updated_at)}
          {stored.archived ? ' · archived' : ''} · <Link href={`/w/${ws}/properties/${encodeURIComponent(stored.name)}/history`}>History</Link>
        </p>
      ) : null}
      {stored?.system ? <p class="note">A system property: it is seeded into every workspace and cannot be changed.</p> : null}
      {!writable ? <p class="note">This key can read definitions only (it does not have the properties:write scope), so the form is read-only.</p> : null}
      {conflict ? (
        <div class="problem" role="alert">
          <p>
            <strong>Not saved: this property was changed by someone else while you edited it.</strong> You opened version {conflict.had}
            {conflict.now ? `; it is now version ${conflict.now.version} (changed ${when(conflict.now.updated_at)})` : ''}. Saving now would overwrite their change.
          </p>
          <button type="button" class="primary" onClick={() => void load()}>
            Reload the property (your edits are discarded)
          </button>
        </div>
      ) : null}
      <Problem failure={failure} fieldsShown={apiErrors.length > 0} />
      {breaksValues(failure) && pendingChange ? (
        <div class="note" role="status">
          <p>Stored values stand in the way of this save. Preview the change to see which values convert and which do not, then convert them (or clear the ones that fail).</p>
          <button type="button" class="primary" onClick={openChange}>
            Preview this change
          </button>
        </div>
      ) : null}
      {localErrors.length > 0 ? (
        <div class="problem" role="alert">
          <p>
            <strong>Not sent: one field needs fixing first.</strong>
          </p>
        </div>
      ) : null}
      {saved ? (
        <p class="saved" role="status">
          {saved}
        </p>
      ) : null}

      <form onSubmit={save} noValidate>
        <fieldset disabled={locked} class="plain">
          <legend class="visually-hidden">Definition</legend>
          <div class="grid">
            <Field field="name" label="Name (the key)" errors={errors} hint={creating ? 'Letters, digits and _, starting with a letter or _. It cannot change after creation.' : 'Immutable: a name never changes.'}>
              {(c) => <input {...c} value={d.name} readOnly={!creating} required onInput={(e) => set({ name: e.currentTarget.value })} autocomplete="off" spellcheck={false} />}
            </Field>
            <Field field="display_name" label="Display name" errors={errors} hint="Defaults to the name.">
              {(c) => <input {...c} value={d.display_name} onInput={(e) => set({ display_name: e.currentTarget.value })} />}
            </Field>
            <Field field="data_type" label="Type" errors={errors} hint={creating ? undefined : 'A new type converts the stored values: preview the change below.'}>
              {(c) => <TypeSelect control={c} value={d.data_type} onChange={(data_type) => set({ data_type })} />}
            </Field>
            <div class="field check">
              <input id="f-multi_valued" type="checkbox" checked={d.multi_valued} disabled={locked} onChange={(e) => set({ multi_valued: e.currentTarget.checked })} aria-describedby="f-multi_valued-hint" />
              <label for="f-multi_valued">Multi-valued (values are lists)</label>
              <p class="hint" id="f-multi_valued-hint">
                {creating ? 'Changes later convert the stored values (a preview first).' : 'Changing it converts the stored values: preview the change below.'}
              </p>
              <FieldErrors id="f-multi_valued" errors={errorsFor(errors, 'multi_valued')} />
            </div>
          </div>
          <Field field="description" label="Description" errors={errors}>
            {(c) => <textarea {...c} rows={3} value={d.description} onInput={(e) => set({ description: e.currentTarget.value })} />}
          </Field>
          <Field field="example" label="Example value" errors={errors}>
            {(c) => <input {...c} value={d.example} onInput={(e) => set({ example: e.currentTarget.value })} />}
          </Field>

          <fieldset>
            <legend>Display names in other languages</legend>
            <FieldErrors id="f-i18n_display_names" errors={errorsFor(errors, 'i18n_display_names')} />
            {d.i18n.length === 0 ? <p class="hint">None: every language shows the display name.</p> : null}
            {d.i18n.map((row, i) => (
              <div class="grid i18n-row" key={row.key}>
                <Field field={`i18n-lang-${row.key}`} label={`Language tag ${i + 1}`} hint="e.g. en_US, ja_JP">
                  {(c) => <input {...c} value={row.lang} onInput={(e) => set({ i18n: d.i18n.map((r) => (r.key === row.key ? { ...r, lang: e.currentTarget.value } : r)) })} />}
                </Field>
                <Field field={`i18n-name-${row.key}`} label={`Name in that language ${i + 1}`}>
                  {(c) => <input {...c} value={row.name} onInput={(e) => set({ i18n: d.i18n.map((r) => (r.key === row.key ? { ...r, name: e.currentTarget.value } : r)) })} />}
                </Field>
                <button type="button" aria-label={`Remove language ${row.lang || i + 1}`} onClick={() => set({ i18n: d.i18n.filter((r) => r.key !== row.key) })}>
                  Remove
                </button>
              </div>
            ))}
            <button type="button" onClick={() => set({ i18n: [...d.i18n, { key: nextKey(), lang: navigator.language.replace('-', '_'), name: '' }] })}>
              Add a language
            </button>
          </fieldset>

          {d.data_type === 'enum' ? <OptionsEditor draft={d} set={set} errors={errors} disabled={locked} /> : <FieldErrors id="f-options" errors={errorsFor(errors, 'options')} />}

          <fieldset>
            <legend>Validation</legend>
            <FieldErrors id="f-validation" errors={errorsFor(errors, 'validation').filter((e) => e.field === 'validation')} />
            {STRINGISH.includes(d.data_type) ? (
              <div class="grid">
                <Field field="validation.min_length" label="Shortest length" errors={errors}>
                  {(c) => <input {...c} type="number" min={0} inputMode="numeric" value={d.min_length} onInput={(e) => set({ min_length: e.currentTarget.value })} />}
                </Field>
                <Field field="validation.max_length" label="Longest length" errors={errors}>
                  {(c) => <input {...c} type="number" min={1} inputMode="numeric" value={d.max_length} onInput={(e) => set({ max_length: e.currentTarget.value })} />}
                </Field>
                <Field field="validation.pattern" label="Pattern (regular expression)" errors={errors}>
                  {(c) => <input {...c} value={d.pattern} spellcheck={false} onInput={(e) => set({ pattern: e.currentTarget.value })} />}
                </Field>
              </div>
            ) : null}
            {NUMERIC.includes(d.data_type) ? (
              <div class="grid">
                <Field field="validation.minimum" label="Minimum" errors={errors}>
                  {(c) => <input {...c} type="number" step="any" value={d.minimum} onInput={(e) => set({ minimum: e.currentTarget.value })} />}
                </Field>
                <Field field="validation.maximum" label="Maximum" errors={errors}>
                  {(c) => <input {...c} type="number" step="any" value={d.maximum} onInput={(e) => set({ maximum: e.currentTarget.value })} />}
                </Field>
              </div>
            ) : null}
            {!STRINGISH.includes(d.data_type) && !NUMERIC.includes(d.data_type) ? <p class="hint">Type {d.data_type} takes no validation rules.</p> : null}
            {check('unique', 'Unique: no two profiles may hold the same value')}
          </fieldset>

          <fieldset>
            <legend>Identity and merging</legend>
            <div class="grid">
              <Field field="identity.role" label="Identity role" errors={errors} hint="Primary identities are tried first when a record without an id is matched.">
                {(c) => (
                  <select {...c} value={d.role} onChange={(e) => set({ role: e.currentTarget.value as Role })}>
                    {IDENTITY_ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              {d.role !== 'none' ? (
                <Field field="identity.priority" label="Identity priority (1 is tried first)" errors={errors}>
                  {(c) => <input {...c} type="number" min={1} max={1000} value={d.priority} onInput={(e) => set({ priority: e.currentTarget.value })} />}
                </Field>
              ) : null}
              <Field field="merge_function" label="Merge function" errors={errors} hint={`What ${d.multi_valued ? 'a multi-valued ' : ''}${d.data_type} allows: ${merges.join(', ')}.`}>
                {(c) => (
                  <select {...c} value={d.merge_function} onChange={(e) => set({ merge_function: e.currentTarget.value as Draft['merge_function'] })}>
                    {merges.map((m) => (
                      <option key={m} value={m}>
                        {m}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            </div>
            <FieldErrors id="f-identity" errors={errorsFor(errors, 'identity').filter((e) => e.field === 'identity')} />
          </fieldset>

          <fieldset>
            <legend>Grouping, privacy, import and export</legend>
            <div class="grid">
              <Field field="group" label="Group" errors={errors}>
                {(c) => <input {...c} value={d.group} onInput={(e) => set({ group: e.currentTarget.value })} />}
              </Field>
              <Field field="display_order" label="Display order" errors={errors} hint="1 or more; empty sorts last.">
                {(c) => <input {...c} type="number" min={1} value={d.display_order} onInput={(e) => set({ display_order: e.currentTarget.value })} />}
              </Field>
              <Field field="import_aliases" label="Import aliases" errors={errors} hint="Other column names imports map to this property, separated by commas.">
                {(c) => <input {...c} value={d.import_aliases} onInput={(e) => set({ import_aliases: e.currentTarget.value })} />}
              </Field>
              <Field field="export_alias" label="Export alias" errors={errors} hint="The column name exports use.">
                {(c) => <input {...c} value={d.export_alias} onInput={(e) => set({ export_alias: e.currentTarget.value })} />}
              </Field>
            </div>
            {check('pii', 'PII: values encrypted at rest and masked without pii:read')}
            {check('importable', 'Importable')}
            {check('exportable', 'Exportable')}
          </fieldset>

          <Field field="metadata" label="Metadata (a JSON object)" errors={errors}>
            {(c) => <textarea {...c} rows={3} spellcheck={false} value={d.metadata} onInput={(e) => set({ metadata: e.currentTarget.value })} />}
          </Field>
        </fieldset>
        {!locked ? (
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Saving…' : creating ? 'Create property' : 'Save changes'}
            </button>
            {pendingChange && !stored?.archived ? (
              <button type="button" onClick={openChange} aria-describedby="preview-why">
                Preview the change with the stored values
              </button>
            ) : null}
          </div>
        ) : null}
        {!locked && pendingChange && !stored?.archived ? (
          <p class="hint" id="preview-why">
            You changed {Object.keys(pendingChange).join(', ')}: the values profiles hold may need converting. Save refuses a change that would break them; the preview shows which.
          </p>
        ) : null}
      </form>
      {change && stored ? <ChangeFlow ws={ws} property={stored} change={change} onRefused={setChangeErrors} onLanded={(o) => void landed(o)} onClose={() => (setChange(null), setChangeErrors([]))} /> : null}

      {stored && !stored.system && writable ? (
        <section aria-labelledby="lifecycle">
          <h2 id="lifecycle">Archive, restore, purge</h2>
          <div class="actions">
            {stored.archived ? (
              <button type="button" onClick={() => void restore()}>
                Restore
              </button>
            ) : (
              <ConfirmButton
                label="Archive"
                title={`Archive ${stored.name}?`}
                body={<p>It disappears from lists and profile reads; its values are kept and the name stays taken. You can restore it later.</p>}
                confirm="Archive"
                onConfirm={archive}
              />
            )}
            <ConfirmButton
              label="Purge for good"
              title={`Purge ${stored.name} for good?`}
              body={<p>The definition is removed, its name freed, and every value it holds is deleted from every profile. This cannot be undone.</p>}
              confirm="Purge"
              typed={stored.name}
              onConfirm={purge}
            />
          </div>
          <JobProgress job={job} />
        </section>
      ) : null}
    </main>
  );
}
