// One pipeline run and its tasks, kept current by the feed's `run.state` and
// `task.state` events without reloading; a task's log on demand; Cancel while
// the run is queued or running.

import { api, ApiError } from "../api";
import { debounce, h } from "../dom";
import { subscribe } from "../events";
import type { PageHandle, RouteContext } from "../router";
import type { LogRow, RunView, TaskView } from "../types";
import { badge, DASH, elapsed, errorBox, formatTime, loading, setBadge, setTitle, timeCell } from "../ui";
import { adminTabs, feedIndicator } from "./admin";

const ACTIVE_RUN = ["queued", "running"];
const ACTIVE_TASK = ["queued", "running", "up_for_retry"];

interface TaskRow {
  row: HTMLTableRowElement;
  button: HTMLButtonElement;
  badge: HTMLElement;
  tries: HTMLElement;
  started: HTMLElement;
  took: HTMLElement;
  error: HTMLElement;
  view: TaskView;
}

type FeedEvent = { kind: string; data: Record<string, unknown> };

const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

function logLine(row: LogRow): HTMLElement {
  const at = new Date(row.at);
  const ms = String(at.getMilliseconds()).padStart(3, "0");
  return h(
    "li",
    { class: `log-line log-${row.level}` },
    h("time", { datetime: at.toISOString() }, `${timeOfDay.format(at)}.${ms}`),
    h("span", { class: "log-try", title: "Try" }, `#${row.try_number}`),
    h("span", { class: "log-level" }, row.level),
    h("span", { class: "log-message" }, row.message),
  );
}

export function renderRun(ctx: RouteContext): PageHandle {
  const id = ctx.params.id;
  setTitle("Run", "Admin");
  const indicator = feedIndicator();
  const runBadge = badge("queued", "run-state");
  runBadge.hidden = true;
  const cancel = h("button", { type: "button", class: "button button-danger", hidden: true, "data-testid": "cancel-run" }, "Cancel run");
  const heading = h("h1", null, "Run");
  const notice = h("div", { "aria-live": "polite" });
  const facts = h("dl", { class: "facts facts-compact" });
  const params = h("pre", { class: "code-block", "data-testid": "run-params" });
  const tbody = h("tbody", { "data-testid": "run-tasks" });
  const tasksBox = h("div", { class: "table-scroll" });
  const logBox = h("section", { class: "log-panel", "aria-live": "polite", hidden: true, "data-testid": "task-log" });
  const body = h("div", { class: "run-body" }, loading());

  ctx.root.append(
    h(
      "section",
      { class: "page" },
      adminTabs("pipelines"),
      h("p", { class: "breadcrumb" }, h("a", { href: "/admin/pipelines" }, "← Pipelines")),
      h("div", { class: "page-head" }, h("div", { class: "title-row" }, heading, runBadge), h("div", { class: "head-actions" }, indicator.el, cancel)),
      notice,
      body,
    ),
  );

  let run: RunView | null = null;
  const rows = new Map<string, TaskRow>();
  let selected: string | null = null;
  let fetching = false;
  let duringFetch: FeedEvent[] = [];
  let logRequest = 0;

  function renderFacts(r: RunView): void {
    const item = (label: string, value: Node | string, testId?: string) => [h("dt", null, label), h("dd", { "data-testid": testId }, value)];
    facts.replaceChildren(
      ...item("Pipeline", h("a", { href: `/admin/pipelines#pipeline-${r.pipeline}` }, r.pipeline)),
      ...item("Run id", h("code", null, r.id)),
      ...item("Triggered by", r.triggered_by),
      ...(r.logical_date ? item("Logical date", formatTime(r.logical_date)) : []),
      ...item("Created", formatTime(r.created_at)),
      ...item("Started", formatTime(r.started_at)),
      ...item("Finished", formatTime(r.finished_at)),
      ...item("Took", r.started_at ? elapsed(r.started_at, r.finished_at) : DASH, "run-duration"),
      ...(r.error ? item("Error", h("span", { class: "error-text" }, r.error), "run-error") : []),
    );
    params.textContent = JSON.stringify(r.params ?? {}, null, 2);
  }

  function setRunState(state: RunView["state"]): void {
    setBadge(runBadge, state);
    runBadge.hidden = false;
    cancel.hidden = !ACTIVE_RUN.includes(state);
    if (run) run.state = state;
  }

  function updateRow(t: TaskRow): void {
    const v = t.view;
    t.row.dataset.state = v.state;
    setBadge(t.badge, v.state);
    t.tries.textContent = `${v.try_number} of ${v.max_tries}`;
    t.started.replaceChildren(timeCell(v.started_at));
    t.took.textContent = v.started_at ? elapsed(v.started_at, v.finished_at) : DASH;
    t.error.textContent = v.error ?? "";
  }

  function buildRow(v: TaskView): TaskRow {
    const button = h(
      "button",
      { type: "button", class: "link-button", "aria-pressed": "false", "aria-controls": "task-log", "data-testid": `show-log-${v.task_id}` },
      v.task_id,
    );
    const t: TaskRow = {
      row: h("tr", { "data-testid": `task-${v.task_id}`, "data-task": v.task_id }),
      button,
      badge: badge(v.state),
      tries: h("td", { class: "num" }),
      started: h("td", { class: "hide-sm nowrap" }),
      took: h("td", { class: "num" }),
      error: h("td", { class: "error-text" }),
      view: { ...v },
    };
    button.addEventListener("click", () => showLog(v.task_id));
    t.row.append(h("th", { scope: "row" }, button), h("td", null, t.badge), t.tries, t.started, t.took, t.error);
    updateRow(t);
    return t;
  }

  function renderTasks(tasks: TaskView[]): void {
    for (const v of tasks) {
      const existing = rows.get(v.task_id);
      if (existing) {
        existing.view = { ...v };
        updateRow(existing);
      } else {
        const t = buildRow(v);
        rows.set(v.task_id, t);
        tbody.append(t.row);
      }
    }
  }

  function applyRun(r: RunView): void {
    const first = run === null;
    run = r;
    heading.textContent = `Run of ${r.pipeline}`;
    setTitle(`Run ${r.id.slice(0, 8)} of ${r.pipeline}`, "Admin");
    setRunState(r.state);
    renderFacts(r);
    if (r.tasks) renderTasks(r.tasks);
    if (first) {
      tasksBox.replaceChildren(
        h(
          "table",
          { class: "table tasks-table" },
          h("caption", { class: "sr-only" }, "Tasks of this run; choose a task to see its log"),
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              h("th", { scope: "col" }, "Task"),
              h("th", { scope: "col" }, "State"),
              h("th", { scope: "col", class: "num" }, "Try"),
              h("th", { scope: "col", class: "hide-sm" }, "Started"),
              h("th", { scope: "col", class: "num" }, "Took"),
              h("th", { scope: "col" }, "Error"),
            ),
          ),
          tbody,
        ),
      );
      body.replaceChildren(
        h("div", { class: "run-grid" }, h("div", { class: "card" }, h("h2", null, "Details"), facts), h("div", { class: "card" }, h("h2", null, "Parameters"), params)),
        h("div", { class: "card" }, h("h2", null, "Tasks"), h("p", { class: "muted" }, "Choose a task to see its log."), tasksBox),
        logBox,
      );
    }
  }

  function applyEvent(e: FeedEvent): void {
    if (e.kind === "run.state" && typeof e.data.state === "string") {
      setRunState(e.data.state as RunView["state"]);
      // Finished: its end time and error come with the run itself.
      if (!ACTIVE_RUN.includes(e.data.state)) {
        if (fetching) refetch();
        else void fetchRun();
      }
    } else if (e.kind === "task.state" && typeof e.data.task === "string" && typeof e.data.state === "string") {
      const t = rows.get(e.data.task);
      if (!t) {
        refetch();
        return;
      }
      t.view.state = e.data.state as TaskView["state"];
      if (typeof e.data.try === "number") t.view.try_number = e.data.try;
      if (e.data.state === "running" && !t.view.started_at) t.view.started_at = new Date().toISOString();
      updateRow(t);
      if (selected === e.data.task) refreshLog();
      refetch();
    }
  }

  async function fetchRun(): Promise<void> {
    fetching = true;
    duringFetch = [];
    try {
      const r = await api.run(id);
      if (ctx.signal.aborted) return;
      applyRun(r);
      // Events that came while the request was out are at least as new as its answer.
      for (const e of duringFetch) applyEvent(e);
    } catch (err) {
      if (ctx.signal.aborted) return;
      if (run === null) {
        const missing = err instanceof ApiError && err.status === 404;
        heading.textContent = missing ? "Run not found" : "Run";
        body.replaceChildren(errorBox(err, missing ? undefined : () => void fetchRun()));
      } else {
        notice.replaceChildren(errorBox(err));
      }
    } finally {
      fetching = false;
      duringFetch = [];
    }
  }
  // Times, tries and errors come with the run itself: fetch it again soon after changes.
  const refetch = debounce(() => {
    if (!fetching) void fetchRun();
    else refetch();
  }, 300);

  async function showLog(task: string): Promise<void> {
    selected = task;
    for (const [name, t] of rows) {
      t.button.setAttribute("aria-pressed", String(name === task));
      t.row.classList.toggle("selected", name === task);
    }
    logBox.hidden = false;
    logBox.id = "task-log";
    logBox.replaceChildren(h("h2", null, `Log of ${task}`), loading("Loading the log…"));
    await refreshLog();
  }

  async function refreshLog(): Promise<void> {
    const task = selected;
    if (!task) return;
    const request = ++logRequest;
    try {
      const lines = await api.runLogs(id, task);
      if (ctx.signal.aborted || request !== logRequest) return;
      const refresh = h("button", { type: "button", class: "button button-small button-secondary", onclick: () => void refreshLog() }, "Refresh");
      logBox.replaceChildren(
        h("div", { class: "log-head" }, h("h2", null, `Log of ${task}`), refresh),
        lines.length === 0
          ? h("p", { class: "muted" }, "No log lines yet.")
          : h("ol", { class: "log", "data-testid": "log-lines" }, lines.map(logLine)),
      );
    } catch (err) {
      if (ctx.signal.aborted || request !== logRequest) return;
      logBox.replaceChildren(h("h2", null, `Log of ${task}`), errorBox(err, () => void refreshLog()));
    }
  }

  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    notice.replaceChildren();
    try {
      applyRun(await api.cancelRun(id));
    } catch (err) {
      notice.replaceChildren(errorBox(err));
    } finally {
      cancel.disabled = false;
    }
  });

  // The feed first, then the run: nothing that happens in between is missed.
  const close = subscribe(["pipelines"], {
    kinds: ["run.state", "task.state"],
    onEvent: (kind, data) => {
      if (data.run !== id) return;
      const e = { kind, data };
      if (fetching) duringFetch.push(e);
      if (run) applyEvent(e);
    },
    onReset: () => void fetchRun(),
    onOpen: () => {
      if (run) refetch();
    },
    onStatus: indicator.set,
  });
  void fetchRun();

  // Running times tick while something runs.
  const ticker = window.setInterval(() => {
    if (!run) return;
    for (const t of rows.values()) {
      if (ACTIVE_TASK.includes(t.view.state) && t.view.started_at && !t.view.finished_at) {
        t.took.textContent = elapsed(t.view.started_at, null);
      }
    }
  }, 1000);

  return {
    dispose: () => {
      close();
      refetch.cancel();
      window.clearInterval(ticker);
    },
  };
}
