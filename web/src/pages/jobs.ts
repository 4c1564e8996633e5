// The job queue: newest jobs first, filtered by state and queue (kept in the
// query string), paged with `before`, Retry and Cancel where they apply, and
// kept current by the feed's `job.state` events.

import { api } from "../api";
import { debounce, h } from "../dom";
import { subscribe } from "../events";
import { navigate, type PageHandle, type RouteContext } from "../router";
import { JOB_STATES, type JobState, type JobView } from "../types";
import { badge, errorBox, formatNumber, loading, setBadge, setTitle, shortId, timeCell } from "../ui";
import { adminTabs, feedIndicator } from "./admin";

const PAGE_SIZE = 50;
const RETRYABLE = ["dead", "cancelled", "retrying"];
const CANCELLABLE = ["pending", "retrying", "running"];

interface HistoryState {
  /** `before` of the pages before this one; "" stands for the newest page. */
  befores?: string[];
}

interface JobRow {
  row: HTMLTableRowElement;
  badge: HTMLElement;
  attempt: HTMLElement;
  actions: HTMLElement;
  job: JobView;
}

/** When the job last did something, or for a waiting one, when it is due. */
function lastActivity(job: JobView): Node | string {
  const at = job.finished_at ?? job.started_at;
  if (at) return timeCell(at);
  if (job.state === "pending" || job.state === "retrying") return h("span", { class: "muted" }, "due ", timeCell(job.run_at));
  return timeCell(null);
}

/** What a job works on: a link to the run for pipeline tasks, else its payload in short. */
function payloadSummary(payload: unknown): Node | string {
  if (payload && typeof payload === "object" && !Array.isArray(payload)) {
    const p = payload as Record<string, unknown>;
    if (typeof p.run === "string" && typeof p.task === "string") {
      return h("span", { class: "payload nowrap" }, "task ", h("code", null, p.task), " of ", h("a", { href: `/admin/runs/${p.run}` }, shortId(p.run)));
    }
  }
  if (payload === null || payload === undefined) return "";
  const text = JSON.stringify(payload);
  return h("code", { class: "payload", title: text.length > 80 ? text : null }, text.length > 80 ? `${text.slice(0, 79)}…` : text);
}

export function renderJobs(ctx: RouteContext): PageHandle {
  setTitle("Jobs", "Admin");
  const indicator = feedIndicator();
  const state = h(
    "select",
    { id: "jobs-state", name: "state", "data-testid": "jobs-state" },
    h("option", { value: "" }, "Any state"),
    JOB_STATES.map((s) => h("option", { value: s }, s)),
  );
  const queues = h("datalist", { id: "jobs-queues" });
  const queue = h("input", {
    id: "jobs-queue",
    name: "queue",
    type: "text",
    list: "jobs-queues",
    autocomplete: "off",
    spellcheck: "false",
    "data-testid": "jobs-queue",
  });
  const form = h(
    "form",
    { class: "filters filters-jobs", "aria-label": "Filter jobs", onsubmit: (e: Event) => e.preventDefault() },
    h("div", { class: "field" }, h("label", { for: "jobs-state" }, "State"), state),
    h("div", { class: "field" }, h("label", { for: "jobs-queue" }, "Queue"), queue, queues),
    h("div", { class: "field field-actions" }, h("a", { href: "/admin/jobs", class: "button button-ghost" }, "Reset")),
  );
  const notice = h("div", { "aria-live": "polite" });
  const summary = h("p", { class: "results-summary", "aria-live": "polite", "data-testid": "jobs-count" });
  const results = h("div", { class: "results" });
  const newer = h("button", { type: "button", class: "button button-secondary", "data-testid": "jobs-newer" }, "← Newer");
  const older = h("button", { type: "button", class: "button button-secondary", "data-testid": "jobs-older" }, "Older →");
  const pager = h("nav", { class: "pager", "aria-label": "Pages of jobs" }, newer, older);

  ctx.root.append(
    h(
      "section",
      { class: "page" },
      adminTabs("jobs"),
      h("div", { class: "page-head" }, h("h1", null, "Jobs"), indicator.el),
      form,
      notice,
      summary,
      results,
      pager,
    ),
  );

  let filterState = "";
  let filterQueue = "";
  let before = "";
  let next: string | null = null;
  const rows = new Map<string, JobRow>();
  const knownQueues = new Set<string>();
  let request = 0;

  function urlOf(s: string, q: string, b: string): string {
    const params = new URLSearchParams();
    if (s) params.set("state", s);
    if (q) params.set("queue", q);
    if (b) params.set("before", b);
    const qs = params.toString();
    return qs ? `/admin/jobs?${qs}` : "/admin/jobs";
  }

  function befores(): string[] {
    const st = history.state as HistoryState | null;
    return Array.isArray(st?.befores) ? st.befores.filter((b) => typeof b === "string") : [];
  }

  function actionButtons(job: JobView): HTMLElement[] {
    const out: HTMLElement[] = [];
    if (RETRYABLE.includes(job.state)) {
      out.push(
        h(
          "button",
          { type: "button", class: "button button-small button-secondary", "data-testid": `retry-${job.id}`, onclick: () => act(job, "retry") },
          "Retry",
        ),
      );
    }
    if (CANCELLABLE.includes(job.state) && !job.cancel_requested) {
      out.push(
        h(
          "button",
          { type: "button", class: "button button-small button-danger-ghost", "data-testid": `cancel-${job.id}`, onclick: () => act(job, "cancel") },
          "Cancel",
        ),
      );
    }
    if (job.cancel_requested && job.state === "running") out.push(h("span", { class: "muted" }, "cancelling…"));
    return out;
  }

  function updateRow(r: JobRow): void {
    r.row.dataset.state = r.job.state;
    setBadge(r.badge, r.job.state);
    r.attempt.textContent = `${r.job.attempt} of ${r.job.max_attempts}`;
    r.actions.replaceChildren(...actionButtons(r.job));
  }

  function buildRow(job: JobView): JobRow {
    const r: JobRow = {
      row: h("tr", { "data-testid": `job-${job.id}` }),
      badge: badge(job.state),
      attempt: h("td", { class: "num" }),
      actions: h("td", { class: "actions-cell" }),
      job,
    };
    r.row.append(
      h("td", null, shortId(job.id)),
      h("th", { scope: "row" }, h("code", null, job.name)),
      h("td", { class: "hide-sm" }, job.queue),
      h("td", null, r.badge),
      r.attempt,
      h("td", { class: "hide-sm nowrap" }, timeCell(job.created_at)),
      h("td", { class: "hide-md nowrap" }, lastActivity(job)),
      h("td", { class: "hide-md" }, payloadSummary(job.payload)),
      h("td", { class: "error-text hide-md" }, job.last_error ?? ""),
      r.actions,
    );
    updateRow(r);
    return r;
  }

  async function act(job: JobView, action: "retry" | "cancel"): Promise<void> {
    notice.replaceChildren();
    const r = rows.get(job.id);
    r?.actions.querySelectorAll("button").forEach((b) => (b.disabled = true));
    try {
      const updated = action === "retry" ? await api.retryJob(job.id) : await api.cancelJob(job.id);
      if (r) {
        r.job = updated;
        updateRow(r);
      }
    } catch (err) {
      notice.replaceChildren(errorBox(err));
      if (r) updateRow(r);
    }
  }

  async function load(): Promise<void> {
    const mine = ++request;
    results.setAttribute("aria-busy", "true");
    if (rows.size === 0) results.replaceChildren(loading());
    try {
      const page = await api.jobs({ state: JOB_STATES.includes(filterState as JobState) ? (filterState as JobState) : undefined, queue: filterQueue || undefined, limit: PAGE_SIZE, cursor: before || undefined });
      if (ctx.signal.aborted || mine !== request) return;
      next = page.next_cursor ?? null;
      rows.clear();
      for (const j of page.items) {
        if (!knownQueues.has(j.queue)) {
          knownQueues.add(j.queue);
          queues.append(h("option", { value: j.queue }));
        }
      }
      const newest = !before;
      const n = page.items.length;
      const filtered = !!(filterState || filterQueue);
      const total = `${formatNumber(page.total)} ${page.total === 1 ? "job" : "jobs"}`;
      summary.textContent =
        n === 0
          ? newest
            ? filtered
              ? "No jobs match these filters."
              : "No jobs yet."
            : `${total} · no older jobs.`
          : n === page.total
            ? total
            : `${total} · ${n === 1 ? "this one" : `these ${formatNumber(n)}`} created ${newest ? "last" : `earlier${next ? "" : ", the oldest"}`}`;
      if (page.items.length === 0) {
        results.replaceChildren(h("div", { class: "empty", "data-testid": "jobs-empty" }, h("p", null, "Nothing to show.")));
      } else {
        const tbody = h("tbody", { "data-testid": "jobs-list" });
        for (const j of page.items) {
          const r = buildRow(j);
          rows.set(j.id, r);
          tbody.append(r.row);
        }
        results.replaceChildren(
          h(
            "div",
            { class: "table-scroll" },
            h(
              "table",
              { class: "table table-compact jobs-table" },
              h("caption", { class: "sr-only" }, "Jobs"),
              h(
                "thead",
                null,
                h(
                  "tr",
                  null,
                  h("th", { scope: "col" }, "Job"),
                  h("th", { scope: "col" }, "Name"),
                  h("th", { scope: "col", class: "hide-sm" }, "Queue"),
                  h("th", { scope: "col" }, "State"),
                  h("th", { scope: "col", class: "num" }, "Attempt"),
                  h("th", { scope: "col", class: "hide-sm" }, "Created"),
                  h("th", { scope: "col", class: "hide-md" }, "Last activity"),
                  h("th", { scope: "col", class: "hide-md" }, "Payload"),
                  h("th", { scope: "col", class: "hide-md" }, "Last error"),
                  h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
                ),
              ),
              tbody,
            ),
          ),
        );
      }
    } catch (err) {
      if (ctx.signal.aborted || mine !== request) return;
      rows.clear();
      summary.textContent = "";
      results.replaceChildren(errorBox(err, () => void load()));
    } finally {
      if (mine === request) results.removeAttribute("aria-busy");
      newer.disabled = !before;
      older.disabled = !next;
      pager.hidden = !before && !next;
    }
  }

  const reload = debounce(() => void load(), 800);

  function apply(query: URLSearchParams): void {
    filterState = query.get("state") ?? "";
    filterQueue = query.get("queue") ?? "";
    before = query.get("before") ?? "";
    state.value = JOB_STATES.includes(filterState as JobState) ? filterState : "";
    if (queue.value.trim() !== filterQueue) queue.value = filterQueue;
    rows.clear();
    void load();
  }

  state.addEventListener("change", () => navigate(urlOf(state.value, filterQueue, ""), { state: { befores: [] } }));
  const typed = debounce(() => navigate(urlOf(filterState, queue.value.trim(), ""), { replace: true, state: { befores: [] } }), 400);
  queue.addEventListener("input", typed);
  queue.addEventListener("change", () => {
    typed.cancel();
    if (queue.value.trim() !== filterQueue) navigate(urlOf(filterState, queue.value.trim(), ""), { replace: true, state: { befores: [] } });
  });
  older.addEventListener("click", () => {
    if (!next) return;
    navigate(urlOf(filterState, filterQueue, next), { state: { befores: [...befores(), before] } satisfies HistoryState });
  });
  newer.addEventListener("click", () => {
    const stack = befores();
    const back = stack.length > 0 ? stack[stack.length - 1] : "";
    navigate(urlOf(filterState, filterQueue, back), { state: { befores: stack.slice(0, -1) } satisfies HistoryState });
  });

  const close = subscribe(["jobs"], {
    kinds: ["job.state"],
    onEvent: (_kind, data) => {
      const id = typeof data.id === "string" ? data.id : null;
      const r = id ? rows.get(id) : undefined;
      if (r && typeof data.state === "string") {
        r.job = { ...r.job, state: data.state as JobView["state"] };
        if (typeof data.attempt === "number") r.job.attempt = data.attempt;
        updateRow(r);
      }
      // New jobs, and jobs that left or entered the filter, show on the newest page.
      if (!before && (!r || (filterState && data.state !== filterState))) reload();
    },
    onReset: () => reload(),
    onOpen: () => reload(),
    onStatus: indicator.set,
  });

  apply(ctx.query);
  return {
    update: apply,
    dispose: () => {
      close();
      reload.cancel();
      typed.cancel();
    },
  };
}
