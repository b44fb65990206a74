// Small pieces every screen uses: labelled fields with their errors, the error summary, a
// confirmation dialog, empty states, job progress and the select of a property's type.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, type ErrorDetail, type Job, type Property } from './api';
import { DATA_TYPES } from './rules';

/** The details that belong to a field: itself and anything inside it (`options[1].value` is in `options`). */
export function errorsFor(details: readonly ErrorDetail[], field: string): ErrorDetail[] {
  return details.filter((d) => d.field === field || d.field.startsWith(`${field}.`) || d.field.startsWith(`${field}[`) || d.field.startsWith(`${field}/`));
}

const idOf = (field: string) => `f-${field.replace(/[^A-Za-z0-9_-]/g, '_')}`;

export function FieldErrors({ id, errors }: { id: string; errors: readonly ErrorDetail[] }) {
  if (errors.length === 0) return null;
  return (
    <ul class="field-errors" id={`${id}-errors`}>
      {errors.map((e) => (
        <li key={e.field + e.problem}>
          {e.field.includes('.') || e.field.includes('[') ? <code>{e.field}</code> : null} {e.problem}
          {e.allowed ? <span class="allowed"> (allowed: {e.allowed.map(String).join(', ')})</span> : null}
        </li>
      ))}
    </ul>
  );
}

/** A label, the control (given its id and described-by), a hint, and the API's errors beside it. */
export function Field(props: {
  field: string;
  label: string;
  hint?: ComponentChildren;
  errors?: readonly ErrorDetail[];
  children: (control: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ComponentChildren;
}) {
  const id = idOf(props.field);
  const errors = errorsFor(props.errors ?? [], props.field);
  const described = [props.hint ? `${id}-hint` : '', errors.length ? `${id}-errors` : ''].filter(Boolean).join(' ');
  return (
    <div class={errors.length ? 'field invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      {props.children({ id, 'aria-describedby': described || undefined, 'aria-invalid': errors.length > 0 || undefined })}
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      <FieldErrors id={id} errors={errors} />
    </div>
  );
}

/** What a Field gives its control. */
type Control = Parameters<Parameters<typeof Field>[0]['children']>[0];

/**
 * A property's type, every data type the API takes in its order; with `anyLabel`, a first choice
 * of none (the value '': a filter's "any type").
 */
export function TypeSelect<T extends Property['data_type'] | ''>(props: { control: Control; value: T; onChange: (type: T) => void; anyLabel?: string }) {
  return (
    <select {...props.control} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value as T)}>
      {props.anyLabel ? <option value="">{props.anyLabel}</option> : null}
      {DATA_TYPES.map((t) => (
        <option key={t} value={t}>
          {t}
        </option>
      ))}
    </select>
  );
}

/** A failure in words, with every detail the API gave when no field shows them. */
export function Problem({ failure, fieldsShown = false }: { failure: unknown; fieldsShown?: boolean }) {
  if (!failure) return null;
  const f = failure instanceof ApiFailure ? failure : new ApiFailure(0, 'CLIENT', String((failure as Error)?.message ?? failure));
  return (
    <div class="problem" role="alert">
      <p>
        <strong>{f.message}</strong>
        {fieldsShown && f.details.length > 0 ? ` ${f.details.length === 1 ? 'One problem is' : `${f.details.length} problems are`} shown beside their fields.` : null}
      </p>
      {f.details.length > 0 ? (
        <ul>
          {f.details.map((d) => (
            <li key={d.field + d.problem}>
              {fieldsShown ? <a href={`#${idOf(d.field.split(/[.[/]/)[0])}`}>{d.field}</a> : <code>{d.field}</code>}: {d.problem}
            </li>
          ))}
        </ul>
      ) : null}
      {f.requestId ? <p class="hint">Request id {f.requestId}</p> : null}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

/**
 * A destructive action asks first, in a modal dialog (focus stays inside it; Escape cancels).
 * With `typed`, the person types that word to confirm.
 */
export function ConfirmButton(props: {
  label: string;
  title: string;
  body: ComponentChildren;
  confirm: string;
  typed?: string;
  disabled?: boolean;
  onConfirm: () => void | Promise<void>;
  class?: string;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [text, setText] = useState('');
  const ready = props.typed === undefined || text === props.typed;
  return (
    <>
      <button type="button" class={props.class ?? 'danger'} disabled={props.disabled} onClick={() => (setText(''), dialog.current?.showModal())}>
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={`${idOf(props.label)}-title`}>
        <form
          method="dialog"
          onSubmit={(event) => {
            event.preventDefault();
            if (!ready) return;
            dialog.current?.close();
            void props.onConfirm();
          }}
        >
          <h2 id={`${idOf(props.label)}-title`}>{props.title}</h2>
          <div>{props.body}</div>
          {props.typed !== undefined ? (
            <p>
              <label for={`${idOf(props.label)}-typed`}>
                Type <code>{props.typed}</code> to confirm
              </label>
              <input id={`${idOf(props.label)}-typed`} value={text} onInput={(e) => setText(e.currentTarget.value)} autocomplete="off" />
            </p>
          ) : null}
          <div class="actions">
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" class="danger" disabled={!ready}>
              {props.confirm}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

export function JobProgress({ job }: { job: Job | null }) {
  if (!job) return null;
  const { done, total } = job.progress;
  return (
    <div class="job" role="status" aria-live="polite">
      <label for={`job-${job.id}`}>
        {job.type.replace(/_/g, ' ')}: {job.status}
        {total > 0 ? ` (${done.toLocaleString()} of ${total.toLocaleString()})` : ''}
      </label>
      <progress id={`job-${job.id}`} max={Math.max(total, 1)} value={job.status === 'done' ? Math.max(total, 1) : done} />
    </div>
  );
}

/** Sets the document title and moves focus to the page's heading when a screen opens. */
export function usePage(title: string): { ref: (el: HTMLHeadingElement | null) => void } {
  const heading = useRef<HTMLHeadingElement | null>(null);
  useEffect(() => {
    document.title = `${title} · propdict console`;
    heading.current?.focus();
  }, [title]);
  return { ref: (el) => (heading.current = el) };
}

/** Runs an async loader, keeping its result, its failure and whether it runs. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; failure: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined; failure: unknown; loading: boolean }>({ data: undefined, failure: undefined, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, failure: undefined, loading: false }),
      (failure) => live && setState({ data: undefined, failure, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}
