// How values read in the browser: dates in its locale and time zone, display names in its language.
import type { Property } from './api';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

const norm = (tag: string) => tag.replace(/_/g, '-').toLowerCase();

/** The i18n display name in the browser's first language that has one, else display_name. */
export function displayName(p: Pick<Property, 'display_name' | 'i18n_display_names'>, languages: readonly string[] = navigator.languages): string {
  const names = Object.entries(p.i18n_display_names ?? {});
  for (const lang of languages) {
    const exact = names.find(([tag]) => norm(tag) === norm(lang));
    if (exact) return exact[1];
    const base = norm(lang).split('-')[0];
    const near = names.find(([tag]) => norm(tag).split('-')[0] === base);
    if (near) return near[1];
  }
  return p.display_name;
}

/** A stored value as text: strings as they are, anything else as JSON. */
export function showValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(showValue).join('; ');
  return JSON.stringify(value);
}

/** A value as its property shows it: an enum's option by its label. */
export function showValueOf(def: Pick<Property, 'data_type' | 'options'> | undefined, value: unknown): string {
  if (def?.data_type === 'enum' && def.options) {
    const label = (v: unknown) => def.options!.find((o) => o.value === v)?.label ?? showValue(v);
    return Array.isArray(value) ? value.map(label).join('; ') : value === null || value === undefined ? '' : label(value);
  }
  return showValue(value);
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;
