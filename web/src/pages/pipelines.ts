// Pipelines: each one's parameters, schedule and tasks, a form to run it built
// from its declared parameters, and its recent runs (kept current by the feed).

import { api, ApiError } from "../api";
import { debounce, h } from "../dom";
import { subscribe } from "../events";
import { navigate, type PageHandle, type RouteContext } from "../router";
import type { ParamSpec, PipelineSpec, RunView, TaskSpec } from "../types";
import { badge, DASH, elapsed, errorBox, formatDuration, loading, setTitle, shortId, timeCell } from "../ui";
import { adminTabs, feedIndicator } from "./admin";

/** A declared default written the way the form shows it. */
function defaultText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The value to send for what was typed: numbers and booleans as JSON values
 * when they read as such, anything else as the text, for the server to judge.
 */
function valueOf(param: ParamSpec, text: string): unknown {
  switch (param.type) {
    case "integer":
      return /^[+-]?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
    case "float":
      return text.trim() !== "" && Number.isFinite(Number(text.trim())) ? Number(text.trim()) : text;
    case "boolean":
      return text === "true" ? true : text === "false" ? false : text;
    default:
      return text;
  }
}

function paramInput(pipeline: string, param: ParamSpec): { field: HTMLElement; read: () => string; error: HTMLElement } {
  const id = `param-${pipeline}-${param.name}`;
  const required = param.default === null || param.default === undefined;
  const errorId = `${id}-error`;
  const helpId = `${id}-help`;
  const error = h("p", { class: "field-error", id: errorId, hidden: true, "data-testid": `param-error-${param.name}` });
  let control: HTMLInputElement | HTMLSelectElement;
  if (param.type === "boolean") {
    control = h(
      "select",
      { id, name: param.name },
      required ? h("option", { value: "" }, "Choose…") : null,
      h("option", { value: "true" }, "true"),
      h("option", { value: "false" }, "false"),
    );
    control.value = required ? "" : String(param.default);
  } else {
    control = h("input", {
      id,
      name: param.name,
      type: "text",
      inputmode: param.type === "integer" ? "numeric" : param.type === "float" ? "decimal" : null,
      autocomplete: "off",
      spellcheck: "false",
    });
    control.value = defaultText(param.default);
  }
  control.setAttribute("aria-describedby", `${helpId} ${errorId}`);
  control.dataset.testid = `param-${param.name}`;
  if (required) control.setAttribute("aria-required", "true");
  const field = h(
    "div",
    { class: "field" },
    h(
      "label",
      { for: id },
      h("code", null, param.name),
      " ",
      h("span", { class: "param-type" }, param.type),
      required ? h("span", { class: "required" }, " required") : null,
    ),
    control,
    h(
      "p",
      { class: "field-help", id: helpId },
      [param.description, required ? null : `Default: ${defaultText(param.default) || "empty"}`].filter(Boolean).join(" · "),
    ),
    error,
  );
  return { field, read: () => control.value, error };
}

function runForm(p: PipelineSpec): HTMLElement {
  const inputs = p.params.map((param) => ({ param, ...paramInput(p.name, param) }));
  const formError = h("div", { "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "button", "data-testid": `run-${p.name}` }, `Run ${p.name}`);
  const form = h(
    "form",
    { class: "run-form", novalidate: true, "data-testid": `run-form-${p.name}`, "aria-label": `Run ${p.name}` },
    inputs.length === 0 ? h("p", { class: "muted" }, "This pipeline takes no parameters.") : inputs.map((i) => i.field),
    formError,
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.replaceChildren();
    for (const i of inputs) {
      i.error.hidden = true;
      i.error.textContent = "";
      i.field.classList.remove("has-error");
    }
    const params: Record<string, unknown> = {};
    for (const i of inputs) {
      const text = i.read();
      // Left empty: the declared default applies (or the server says it is required).
      if (text === "") continue;
      params[i.param.name] = valueOf(i.param, text);
    }
    submit.disabled = true;
    submit.textContent = "Starting…";
    try {
      const run = await api.triggerRun(p.name, params);
      navigate(`/admin/runs/${run.id}`);
    } catch (err) {
      const unplaced: string[] = [];
      if (err instanceof ApiError) {
        for (const fe of err.fieldErrors) {
          const target = fe.field ? inputs.find((i) => i.param.name === fe.field) : undefined;
          if (target) {
            target.error.hidden = false;
            target.error.textContent = target.error.textContent ? `${target.error.textContent} ${fe.message}` : fe.message;
            target.field.classList.add("has-error");
          } else {
            unplaced.push(fe.message);
          }
        }
      }
      const placed = err instanceof ApiError ? err.fieldErrors.length - unplaced.length : 0;
      if (err instanceof ApiError && err.fieldErrors.length > 0) {
        // Each message under its parameter; the rest (unknown names…) in one box.
        if (unplaced.length > 0) {
          formError.append(
            h(
              "div",
              { class: "alert alert-error", role: "alert", "data-testid": "error" },
              h("p", { class: "alert-title" }, `${err.title} (${err.status})`),
              h("ul", null, unplaced.map((m) => h("li", null, m))),
              placed > 0 ? h("p", null, "See also the parameters marked above.") : null,
            ),
          );
        } else {
          formError.append(h("p", { class: "field-error", role: "alert" }, "Check the parameters marked above."));
        }
        inputs.find((i) => !i.error.hidden)?.field.querySelector<HTMLElement>("input, select")?.focus();
      } else {
        formError.append(errorBox(err));
      }
    } finally {
      submit.disabled = false;
      submit.textContent = `Run ${p.name}`;
    }
  });
  return form;
}

function taskList(tasks: TaskSpec[]): HTMLElement {
  return h(
    "ol",
    { class: "task-specs" },
    tasks.map((t) =>
      h(
        "li",
        null,
        h("code", { class: "task-id" }, t.id),
        h("span", { class: "muted" }, ` ${t.operator}`),
        t.depends_on.length > 0 ? h("span", { class: "muted" }, ` · after ${t.depends_on.join(", ")}`) : null,
        t.trigger_rule !== "all_success" ? h("span", { class: "muted" }, ` · ${t.trigger_rule.replace(/_/g, " ")}`) : null,
        t.retries > 0 ? h("span", { class: "muted" }, ` · ${t.retries} ${t.retries === 1 ? "retry" : "retries"}`) : null,
        h("span", { class: "muted" }, ` · timeout ${formatDuration(t.timeout)}`),
      ),
    ),
  );
}

function runsTable(runs: RunView[]): HTMLElement {
  if (runs.length === 0) return h("p", { class: "muted" }, "No runs yet.");
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "table table-compact" },
      h("caption", { class: "sr-only" }, "Recent runs"),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { scope: "col" }, "Run"),
          h("th", { scope: "col" }, "State"),
          h("th", { scope: "col", class: "hide-sm" }, "Triggered by"),
          h("th", { scope: "col" }, "Created"),
          h("th", { scope: "col", class: "num" }, "Took"),
        ),
      ),
      h(
        "tbody",
        null,
        runs.map((r) =>
          h(
            "tr",
            { "data-testid": `recent-run-${r.id}` },
            h("td", null, h("a", { href: `/admin/runs/${r.id}` }, shortId(r.id))),
            h("td", null, badge(r.state)),
            h("td", { class: "hide-sm" }, r.triggered_by),
            h("td", { class: "nowrap" }, timeCell(r.created_at)),
            h("td", { class: "num" }, r.started_at ? elapsed(r.started_at, r.finished_at) : DASH),
          ),
        ),
      ),
    ),
  );
}

function pipelineCard(p: PipelineSpec, signal: AbortSignal): { card: HTMLElement; refreshRuns: () => void } {
  const runsBox = h("div", { class: "recent-runs", "data-testid": `runs-${p.name}` }, loading("Loading runs…"));
  const refreshRuns = () => {
    api
      .pipelineRuns(p.name, 10)
      .then((runs) => {
        if (!signal.aborted) runsBox.replaceChildren(runsTable(runs.items));
      })
      .catch((err) => {
        if (!signal.aborted) runsBox.replaceChildren(errorBox(err, refreshRuns));
      });
  };
  refreshRuns();
  const card = h(
    "article",
    { class: "card pipeline", id: `pipeline-${p.name}`, "data-testid": `pipeline-${p.name}` },
    h(
      "header",
      { class: "pipeline-head" },
      h("h2", null, p.name),
      p.description ? h("p", null, p.description) : null,
      h(
        "dl",
        { class: "inline-facts" },
        h("dt", null, "Schedule"),
        h("dd", null, p.schedule ? h("code", null, p.schedule) : "on demand"),
        h("dt", null, "Concurrent runs"),
        h("dd", null, String(p.max_active_runs)),
        h("dt", null, "Defined in"),
        h("dd", null, h("code", null, p.source)),
      ),
    ),
    h(
      "div",
      { class: "pipeline-body" },
      h("section", { "aria-label": `Run ${p.name}` }, h("h3", null, "Run"), runForm(p)),
      h("section", { "aria-label": `Tasks of ${p.name}` }, h("h3", null, `Tasks (${p.tasks.length})`), taskList(p.tasks)),
    ),
    h("section", { "aria-label": `Recent runs of ${p.name}` }, h("h3", null, "Recent runs"), runsBox),
  );
  return { card, refreshRuns };
}

export function renderPipelines(ctx: RouteContext): PageHandle {
  setTitle("Pipelines", "Admin");
  const indicator = feedIndicator();
  const body = h("div", { class: "pipelines" });
  ctx.root.append(
    h(
      "section",
      { class: "page" },
      adminTabs("pipelines"),
      h("div", { class: "page-head" }, h("h1", null, "Pipelines"), indicator.el),
      body,
    ),
  );

  const refreshers = new Map<string, () => void>();
  const load = () => {
    body.replaceChildren(loading());
    api
      .pipelines()
      .then((pipelines) => {
        if (ctx.signal.aborted) return;
        refreshers.clear();
        if (pipelines.length === 0) {
          body.replaceChildren(h("p", { class: "empty" }, "No pipelines are defined."));
          return;
        }
        body.replaceChildren(
          h(
            "nav",
            { class: "toc", "aria-label": "Pipelines on this page" },
            pipelines.map((p) => h("a", { href: `#pipeline-${p.name}`, class: "chip" }, p.name)),
          ),
          ...pipelines.map((p) => {
            const { card, refreshRuns } = pipelineCard(p, ctx.signal);
            refreshers.set(p.name, debounce(refreshRuns, 400));
            return card;
          }),
        );
      })
      .catch((err) => {
        if (!ctx.signal.aborted) body.replaceChildren(errorBox(err, load));
      });
  };
  load();

  // A run of a pipeline changed state: its list of recent runs is out of date.
  const close = subscribe(["pipelines"], {
    kinds: ["run.state"],
    onEvent: (_kind, data) => {
      const name = typeof data.pipeline === "string" ? data.pipeline : null;
      if (name) refreshers.get(name)?.();
      else for (const refresh of refreshers.values()) refresh();
    },
    onReset: () => {
      for (const refresh of refreshers.values()) refresh();
    },
    onStatus: indicator.set,
  });
  return { dispose: close };
}
