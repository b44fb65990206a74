// A definition change that stored values must follow: the preview (counts, failing samples with
// their reasons, the diff), then the change applied with abort or clear, its job followed to the end.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiFailure, call, followJob, type ChangeFields, type ChangePreview, type ErrorDetail, type Job, type Property } from '../api';
import { plural, showValue } from '../format';
import { Link } from '../router';
import { needs, useMe } from '../session';
import { ConfirmButton, JobProgress, Problem } from '../ui';
import { bodyOf, draftOf, type Draft } from './property-form';

/** The fields PATCH refuses with 409 when stored values would break or need keys claimed: these go through a change. */
export const CHANGE_FIELDS = ['data_type', 'multi_valued', 'options', 'validation', 'unique', 'identity'] as const;

/** What the draft changes among the fields that convert stored values; empty when nothing. */
export function changeOf(stored: Property, d: Draft): ChangeFields | null {
  const before = bodyOf(draftOf(stored)).body;
  const after = bodyOf(d).body;
  const differs = (key: 'options' | 'validation' | 'unique' | 'identity') => JSON.stringify(after[key] ?? null) !== JSON.stringify(before[key] ?? null);
  const change: ChangeFields = {};
  if (after.data_type !== stored.data_type) change.data_type = after.data_type;
  if (d.multi_valued !== stored.multi_valued) change.multi_valued = d.multi_valued;
  // A new type drops options and validation it cannot have by itself; only what the draft sets goes.
  if (after.data_type === 'enum' && differs('options')) change.options = after.options;
  if (differs('validation') && (change.data_type === undefined || after.validation)) change.validation = after.validation;
  if (differs('unique')) change.unique = after.unique;
  if (differs('identity')) change.identity = after.identity;
  return Object.keys(change).length > 0 ? change : null;
}

/** A 409 from PATCH because stored values would break or need keys claimed, told by the fields its details name (`identity.role`: the identity). */
export const breaksValues = (failure: unknown): boolean =>
  failure instanceof ApiFailure && failure.status === 409 && failure.details.length > 0 && failure.details.every((d) => (CHANGE_FIELDS as readonly string[]).includes(d.field.split('.')[0]));

const show = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

export function ChangeFlow(props: { ws: number; property: Property; change: ChangeFields; onRefused: (details: ErrorDetail[]) => void; onLanded: (outcome?: string) => void; onClose: () => void }) {
  const { ws, property, change } = props;
  const me = useMe();
  const [preview, setPreview] = useState<ChangePreview | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [onFailure, setOnFailure] = useState<'abort' | 'clear'>('abort');
  const [job, setJob] = useState<Job | null>(null);
  const [stale, setStale] = useState(false);
  const key = JSON.stringify(change);
  const heading = useRef<HTMLHeadingElement>(null);
  // Opened from a button above: focus follows, so a keyboard or a screen reader lands on it.
  useEffect(() => heading.current?.focus(), []);

  useEffect(() => {
    let live = true;
    setPreview(null);
    setFailure(null);
    setJob(null);
    props.onRefused([]);
    call(api.POST('/v1/workspaces/{ws}/properties/{name}/changes/preview', { params: { path: { ws, name: property.name } }, body: change })).then(
      ({ data }) => live && setPreview(data),
      (error) => {
        if (!live) return;
        setFailure(error);
        if (error instanceof ApiFailure) props.onRefused(error.details);
      },
    );
    return () => {
      live = false;
    };
  }, [key, property.version]);

  const apply = async () => {
    setFailure(null);
    setStale(false);
    try {
      const { data } = await call(
        api.POST('/v1/workspaces/{ws}/properties/{name}/changes', {
          params: { path: { ws, name: property.name }, header: { 'if-match': `"${property.version}"` } },
          body: { ...change, on_failure: onFailure },
        }),
      );
      const end = await followJob(ws, data.job, setJob);
      if (end.status === 'done') props.onLanded(end.result?.outcome);
    } catch (error) {
      if (error instanceof ApiFailure && error.status === 412) setStale(true);
      else setFailure(error);
    }
  };

  const refused = needs(me, 'properties:write');
  const running = job !== null && (job.status === 'queued' || job.status === 'running');
  const outcome = job?.result?.outcome;
  return (
    <section class="change" aria-labelledby="change-title">
      <h2 id="change-title" tabIndex={-1} ref={heading}>
        Change {property.name} with its stored values
      </h2>
      <p class="hint">
        The values profiles hold are converted to the new definition, and the definition changes with them in one step: nothing is written until you apply.
      </p>
      <Problem failure={failure} fieldsShown={failure instanceof ApiFailure && failure.details.some((d) => (CHANGE_FIELDS as readonly string[]).includes(d.field.split(/[.[]/)[0]))} />
      {!preview && !failure ? <p role="status">Checking the stored values…</p> : null}
      {preview ? (
        <>
          <table>
            <caption>What changes in the definition</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Now</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(preview.changes).map(([field, { from, to }]) => (
                <tr key={field}>
                  <th scope="row">
                    <code>{field}</code>
                  </th>
                  <td>{show(from)}</td>
                  <td>{show(to)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <dl class="preview-counts">
            <div>
              <dt>Profiles holding a value</dt>
              <dd data-count="profiles_with_values">{preview.profiles_with_values.toLocaleString()}</dd>
            </div>
            <div>
              <dt>Values that convert</dt>
              <dd data-count="convertible">{preview.convertible.toLocaleString()}</dd>
            </div>
            <div>
              <dt>Values that fail</dt>
              <dd data-count="failing">{preview.failing.toLocaleString()}</dd>
            </div>
          </dl>
          {preview.samples.length > 0 ? (
            <table>
              <caption>
                Values that fail{preview.failing > preview.samples.length ? ` (the first ${preview.samples.length} of ${preview.failing.toLocaleString()})` : ''}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Profile</th>
                  <th scope="col">Stored value</th>
                  <th scope="col">Why it fails</th>
                </tr>
              </thead>
              <tbody>
                {preview.samples.map((s) => (
                  <tr key={s.profile_id}>
                    <th scope="row">
                      <Link href={`/w/${ws}/profiles/${encodeURIComponent(s.profile_id)}`}>{s.profile_id}</Link>
                    </th>
                    <td>{showValue(s.value)}</td>
                    <td>{s.problem}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="saved">Every stored value converts.</p>
          )}
          <fieldset disabled={Boolean(refused) || running}>
            <legend>If a value does not convert</legend>
            <div class="field check">
              <input type="radio" id="f-on-failure-abort" name="on_failure" value="abort" checked={onFailure === 'abort'} onChange={() => setOnFailure('abort')} />
              <label for="f-on-failure-abort">Abort: change nothing</label>
            </div>
            <div class="field check">
              <input type="radio" id="f-on-failure-clear" name="on_failure" value="clear" checked={onFailure === 'clear'} onChange={() => setOnFailure('clear')} />
              <label for="f-on-failure-clear">Clear: remove the values that fail from their profiles</label>
            </div>
          </fieldset>
          <div class="actions">
            {onFailure === 'clear' && preview.failing > 0 ? (
              <ConfirmButton
                label="Apply the change"
                title={`Clear ${plural(preview.failing, 'value')} of ${property.name}?`}
                body={<p>The values that do not convert are removed from their profiles, and the rest are converted. This cannot be undone.</p>}
                confirm="Apply and clear"
                disabled={Boolean(refused) || running}
                onConfirm={apply}
                class="primary"
              />
            ) : (
              <button type="button" class="primary" disabled={Boolean(refused) || running} onClick={() => void apply()}>
                Apply the change
              </button>
            )}
            <button type="button" disabled={running} onClick={props.onClose}>
              Close without changing
            </button>
          </div>
          {refused ? <p class="why">{refused} Applying a change needs it.</p> : null}
        </>
      ) : (
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Close
          </button>
        </div>
      )}
      {stale ? (
        <div class="problem" role="alert">
          <p>
            <strong>Not applied: the property changed after this preview (you previewed version {property.version}).</strong> Reload it and preview again.
          </p>
          <button type="button" onClick={() => props.onLanded()}>
            Reload the property
          </button>
        </div>
      ) : null}
      <JobProgress job={job} />
      {job && outcome && !running ? (
        <p class={job.status === 'done' ? 'saved' : 'problem'} role={job.status === 'done' ? 'status' : 'alert'}>
          {outcome}
        </p>
      ) : null}
    </section>
  );
}
