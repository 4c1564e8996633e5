// Pieces every page uses: loading and error states, state badges, formatting.

import { ApiError } from "./http";
import { h } from "./dom";

/** A loading indicator announced to screen readers. */
export function loading(text = "Loading…"): HTMLElement {
  return h("div", { class: "loading", role: "status", "data-testid": "loading" }, h("span", { class: "spinner", "aria-hidden": "true" }), text);
}

/** The message to show for any failure. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.detail;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * An error box: the problem's title and detail, each of its `errors`, and a
 * "Try again" button when `retry` is given.
 */
export function errorBox(err: unknown, retry?: () => void): HTMLElement {
  const title = err instanceof ApiError ? err.title : "Something went wrong";
  const status = err instanceof ApiError && err.status ? ` (${err.status})` : "";
  const fieldErrors = err instanceof ApiError ? err.fieldErrors : [];
  const box = h(
    "div",
    { class: "alert alert-error", role: "alert", "data-testid": "error" },
    h("p", { class: "alert-title" }, `${title}${status}`),
    h("p", null, describeError(err)),
    fieldErrors.length > 0 && fieldErrors.map((e) => e.message).join("\n") !== describeError(err)
      ? h("ul", null, fieldErrors.map((e) => h("li", null, e.message)))
      : null,
  );
  if (retry) {
    box.append(h("button", { type: "button", class: "button button-secondary", onclick: () => retry() }, "Try again"));
  }
  return box;
}

const STATE_LABELS: Record<string, string> = {
  up_for_retry: "up for retry",
  upstream_failed: "upstream failed",
};

const STATE_TONES: Record<string, string> = {
  succeeded: "ok",
  failed: "bad",
  dead: "bad",
  upstream_failed: "bad",
  running: "active",
  queued: "waiting",
  pending: "waiting",
  retrying: "warn",
  up_for_retry: "warn",
  cancelled: "muted",
  skipped: "muted",
};

/** The words shown for a run, task or job state. */
export function stateLabel(state: string): string {
  return STATE_LABELS[state] ?? state.replace(/_/g, " ");
}

/** A coloured badge for a state; `data-state` carries the API's value. */
export function badge(state: string, testId?: string): HTMLElement {
  const el = h("span", { class: "badge", "data-testid": testId });
  setBadge(el, state);
  return el;
}

/** Changes a badge made by `badge()` to another state. */
export function setBadge(el: HTMLElement, state: string): void {
  el.dataset.state = state;
  el.dataset.tone = STATE_TONES[state] ?? "muted";
  el.textContent = stateLabel(state);
}

const numberFormat = new Intl.NumberFormat("en-US");
const moneyFormat = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const dateFormat = new Intl.DateTimeFormat("en-US", { dateStyle: "long", timeZone: "UTC" });

export const DASH = "—";

export function formatNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? DASH : numberFormat.format(n);
}

export function formatMoney(n: number | null | undefined): string {
  return n === null || n === undefined ? DASH : moneyFormat.format(n);
}

/** A timestamp (RFC 3339 or milliseconds) in the reader's time zone. */
export function formatTime(t: string | number | null | undefined): string {
  if (t === null || t === undefined || t === "") return DASH;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : dateTimeFormat.format(d);
}

const clockFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dayClockFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

/** A timestamp for a table cell: the time alone when it is today, else day and time; the full time as a tooltip. */
export function timeCell(t: string | null | undefined): Node | string {
  if (!t) return DASH;
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return t;
  const today = new Date().toDateString() === d.toDateString();
  return h("time", { datetime: d.toISOString(), title: dateTimeFormat.format(d) }, (today ? clockFormat : dayClockFormat).format(d));
}

/** A calendar date `YYYY-MM-DD` written out. */
export function formatDate(day: string | null | undefined): string {
  if (!day) return DASH;
  const d = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? day : dateFormat.format(d);
}

/** A length of time in words: `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 10 min`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) {
    const rest = Math.round(s - m * 60);
    return rest ? `${m} min ${rest} s` : `${m} min`;
  }
  const hours = Math.floor(m / 60);
  return m - hours * 60 ? `${hours} h ${m - hours * 60} min` : `${hours} h`;
}

/** The time between two timestamps, or from `start` until now when it has not ended. */
export function elapsed(start: string | null | undefined, end: string | null | undefined): string {
  if (!start) return DASH;
  const from = Date.parse(start);
  const to = end ? Date.parse(end) : Date.now();
  return formatDuration(to - from);
}

/**
 * A UUID shortened to its last 12 characters, with the whole id as a tooltip.
 * Ids here are time-ordered (UUIDv7): their first characters are the same for
 * everything made around the same moment, their last ones are random.
 */
export function shortId(id: string): HTMLElement {
  return h("code", { class: "id", title: id }, id.length > 12 ? `…${id.slice(-12)}` : id);
}

/** Sets the document title. */
export function setTitle(...parts: string[]): void {
  document.title = [...parts, "Hangar"].join(" · ");
}
