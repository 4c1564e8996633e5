// The movies explorer: search, filters and sort kept in the query string, so a
// reload, a shared link and back/forward all show the same results. Pages
// follow `next_cursor`; "Previous" walks back a stack of the cursors that led
// here, kept in the history entry's state.

import { api, type MovieQuery } from "../api";
import { debounce, h } from "../dom";
import { navigate, type PageHandle, type RouteContext } from "../router";
import type { Movie, MovieStats } from "../types";
import { DASH, errorBox, formatNumber, loading, setTitle } from "../ui";

/** What to do when there are no films at all: load them with the movies_etl pipeline. */
function emptyCatalogue(): HTMLElement {
  return h(
    "div",
    { class: "empty empty-catalogue", "data-testid": "catalogue-empty" },
    h("p", { class: "empty-title" }, "The catalogue is empty: no films have been loaded yet."),
    h(
      "p",
      null,
      "Load them with the ",
      h("code", null, "movies_etl"),
      " pipeline: on the server, run ",
      h("code", null, "hangar pipeline run movies_etl --wait"),
      " (after ",
      h("code", null, "scripts/fetch-datasets"),
      "), or sign in as an admin and run it from the ",
      h("a", { href: "/admin/pipelines" }, "Pipelines"),
      " page.",
    ),
  );
}

const PAGE_SIZE = 20;

/** The filters the query string can hold, by parameter name. */
const FILTERS = ["q", "genre", "distributor", "year_min", "year_max", "rating_min", "sort"] as const;
type Filter = (typeof FILTERS)[number];
type Filters = Partial<Record<Filter, string>>;

const SORTS: [string, string][] = [
  ["title", "Title, A to Z"],
  ["-title", "Title, Z to A"],
  ["-release_year", "Newest first"],
  ["release_year", "Oldest first"],
  ["-imdb_rating", "IMDb rating, highest first"],
  ["imdb_rating", "IMDb rating, lowest first"],
  ["-rotten_tomatoes_rating", "Rotten Tomatoes, highest first"],
  ["-imdb_votes", "Most IMDb votes"],
  ["-worldwide_gross", "Worldwide gross, highest first"],
  ["-us_gross", "US gross, highest first"],
  ["-production_budget", "Budget, highest first"],
  ["-running_time_min", "Longest first"],
  ["running_time_min", "Shortest first"],
  ["id", "Order added"],
  ["-id", "Last added first"],
];

/** The order of a list without a search: the API's default when `sort` is not given. */
const DEFAULT_SORT = "id";

const MIN_RATINGS = ["9", "8", "7", "6", "5", "4", "3", "2", "1"];

/** Where the list was last, for the detail page's way back. */
let lastListUrl = "/movies";

export function moviesListUrl(): string {
  return lastListUrl;
}

interface HistoryState {
  /** Cursors of the pages before this one; "" stands for the first page. */
  cursors?: string[];
}

function filtersOf(query: URLSearchParams): Filters {
  const f: Filters = {};
  for (const name of FILTERS) {
    const v = query.get(name);
    if (v !== null && v.trim() !== "") f[name] = v.trim();
  }
  return f;
}

function urlOf(filters: Filters, cursor?: string): string {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const v = filters[name];
    if (v) params.set(name, v);
  }
  if (cursor) params.set("cursor", cursor);
  const qs = params.toString();
  return qs ? `/movies?${qs}` : "/movies";
}

function historyCursors(): string[] {
  const state = history.state as HistoryState | null;
  return Array.isArray(state?.cursors) ? state.cursors.filter((c) => typeof c === "string") : [];
}

function rating(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined ? DASH : value.toFixed(digits);
}

function resultRow(m: Movie): HTMLElement {
  return h(
    "tr",
    { "data-testid": "movie-row", "data-id": m.id },
    h("th", { scope: "row" }, h("a", { href: `/movies/${m.id}`, "data-testid": "movie-title" }, m.title)),
    h("td", { class: "num" }, m.release_year ?? DASH),
    h("td", { class: "hide-sm" }, m.major_genre ?? DASH),
    h("td", { class: "hide-md" }, m.director ?? DASH),
    h("td", { class: "num" }, rating(m.imdb_rating, 1)),
    h("td", { class: "num hide-sm" }, m.rotten_tomatoes_rating === null || m.rotten_tomatoes_rating === undefined ? DASH : `${m.rotten_tomatoes_rating}%`),
  );
}

export function renderMovies(ctx: RouteContext): PageHandle {
  setTitle("Movies");

  const q = h("input", {
    id: "movies-q",
    type: "search",
    name: "q",
    autocomplete: "off",
    placeholder: "Words of a title, e.g. star wa",
    maxlength: 200,
    "data-testid": "movie-search",
  });
  const genre = h(
    "select",
    { id: "movies-genre", name: "genre", "data-testid": "movie-genre" },
    h("option", { value: "" }, "All genres"),
  );
  const yearMin = h("input", { id: "movies-year-min", type: "number", name: "year_min", inputmode: "numeric", step: 1, "data-testid": "movie-year-min" });
  const yearMax = h("input", { id: "movies-year-max", type: "number", name: "year_max", inputmode: "numeric", step: 1, "data-testid": "movie-year-max" });
  const ratingMin = h(
    "select",
    { id: "movies-rating-min", name: "rating_min", "data-testid": "movie-rating-min" },
    h("option", { value: "" }, "Any rating"),
    MIN_RATINGS.map((r) => h("option", { value: r }, `${r} or higher`)),
  );
  // Only a search has an order of its own (relevance); without one the list is in the order added.
  const defaultSort = h("option", { value: "" }, "Best match");
  const sort = h(
    "select",
    { id: "movies-sort", name: "sort", "data-testid": "movie-sort" },
    defaultSort,
    SORTS.map(([value, label]) => h("option", { value }, label)),
  );
  const distributorChip = h("div", { class: "chips" });

  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Search and filter films", onsubmit: (e: Event) => e.preventDefault() },
    h("div", { class: "field field-wide" }, h("label", { for: "movies-q" }, "Search titles"), q),
    h("div", { class: "field" }, h("label", { for: "movies-genre" }, "Genre"), genre),
    h(
      "fieldset",
      { class: "field field-range" },
      h("legend", null, "Release year"),
      h("div", { class: "range" }, h("label", { for: "movies-year-min", class: "sr-only" }, "From year"), yearMin, h("span", { "aria-hidden": "true" }, "to"), h("label", { for: "movies-year-max", class: "sr-only" }, "To year"), yearMax),
    ),
    h("div", { class: "field" }, h("label", { for: "movies-rating-min" }, "IMDb rating"), ratingMin),
    h("div", { class: "field" }, h("label", { for: "movies-sort" }, "Sort by"), sort),
    h("div", { class: "field field-actions" }, h("a", { href: "/movies", class: "button button-ghost", "data-testid": "movie-reset" }, "Reset")),
  );

  const summary = h("p", { class: "results-summary", "aria-live": "polite", "data-testid": "movies-count" });
  const results = h("div", { class: "results" });
  const prev = h("button", { type: "button", class: "button button-secondary", "data-testid": "prev-page" }, "← Previous");
  const next = h("button", { type: "button", class: "button button-secondary", "data-testid": "next-page" }, "Next page →");
  const pager = h("nav", { class: "pager", "aria-label": "Pages of results" }, prev, next);
  const catalogue = h("p", { class: "muted catalogue" });

  ctx.root.append(
    h(
      "section",
      { class: "page" },
      h("div", { class: "page-head" }, h("h1", null, "Movies"), catalogue),
      form,
      distributorChip,
      summary,
      results,
      pager,
    ),
  );

  let filters: Filters = {};
  let cursor = "";
  let nextCursor: string | null = null;
  let inflight: AbortController | null = null;
  /** Films in the whole catalogue, once the statistics have come. */
  let catalogueTotal: number | null = null;
  /** The last page shown, to show again when the catalogue turns out to be empty. */
  let shown: { items: Movie[]; next: string | null; total: number } | null = null;

  /** Puts the query's filters into the controls, leaving the one being typed in alone. */
  function syncControls(): void {
    if (q.value.trim() !== (filters.q ?? "")) q.value = filters.q ?? "";
    if (genre.value !== (filters.genre ?? "")) {
      if (filters.genre && ![...genre.options].some((o) => o.value === filters.genre)) {
        genre.append(h("option", { value: filters.genre }, filters.genre));
      }
      genre.value = filters.genre ?? "";
    }
    if (yearMin.value !== (filters.year_min ?? "")) yearMin.value = filters.year_min ?? "";
    if (yearMax.value !== (filters.year_max ?? "")) yearMax.value = filters.year_max ?? "";
    if (filters.rating_min && ![...ratingMin.options].some((o) => o.value === filters.rating_min)) {
      ratingMin.append(h("option", { value: filters.rating_min }, `${filters.rating_min} or higher`));
    }
    ratingMin.value = filters.rating_min ?? "";
    if (filters.q) {
      if (!defaultSort.isConnected) sort.prepend(defaultSort);
    } else {
      defaultSort.remove();
    }
    const chosen = filters.sort ?? (filters.q ? "" : DEFAULT_SORT);
    if (chosen && ![...sort.options].some((o) => o.value === chosen)) {
      // A sort this menu does not offer (from a shared link): show it as it is rather than nothing.
      sort.append(h("option", { value: chosen }, chosen));
    }
    sort.value = chosen;
    distributorChip.replaceChildren();
    if (filters.distributor) {
      distributorChip.append(
        h(
          "span",
          { class: "chip" },
          `Distributor: ${filters.distributor}`,
          h(
            "button",
            {
              type: "button",
              class: "chip-remove",
              "aria-label": `Remove the distributor filter ${filters.distributor}`,
              onclick: () => commit({ ...filters, distributor: undefined }, false),
            },
            "×",
          ),
        ),
      );
    }
  }

  /** The filters as the controls show them. */
  function controls(sortChosen = false): Filters {
    return {
      q: q.value.trim() || undefined,
      genre: genre.value || undefined,
      distributor: filters.distributor,
      year_min: yearMin.value.trim() || undefined,
      year_max: yearMax.value.trim() || undefined,
      rating_min: ratingMin.value || undefined,
      // The order changes only when it is chosen: the menu shows the default one when none is.
      sort: sortChosen ? sort.value || undefined : filters.sort,
    };
  }

  /** New filters go to the first page; typing replaces the history entry, choices add one. */
  function commit(next: Filters, replace: boolean): void {
    const url = urlOf(next);
    if (url === location.pathname + location.search) return;
    navigate(url, { replace, state: { cursors: [] } satisfies HistoryState });
  }

  async function load(): Promise<void> {
    inflight?.abort();
    const controller = new AbortController();
    inflight = controller;
    results.setAttribute("aria-busy", "true");
    if (!results.firstChild || results.querySelector("[data-testid=error]")) results.replaceChildren(loading("Searching…"));
    else results.classList.add("stale");
    const query: MovieQuery = { ...filters, limit: PAGE_SIZE, cursor: cursor || undefined };
    try {
      const page = await api.movies(query, controller.signal);
      if (controller.signal.aborted) return;
      show(page.items, page.next_cursor ?? null, page.total);
    } catch (err) {
      if (controller.signal.aborted) return;
      nextCursor = null;
      summary.textContent = "";
      results.replaceChildren(errorBox(err, () => void load()));
      updatePager();
    } finally {
      if (inflight === controller) {
        results.removeAttribute("aria-busy");
        results.classList.remove("stale");
      }
    }
  }

  function show(items: Movie[], next: string | null, total: number): void {
    shown = { items, next, total };
    nextCursor = next;
    const cursors = historyCursors();
    const pageNumber = cursor ? (cursors.length > 0 ? cursors.length + 1 : null) : 1;
    const unfiltered = Object.keys(filters).every((k) => k === "sort");
    if (items.length === 0) {
      if (!cursor && (catalogueTotal === 0 || (unfiltered && total === 0))) {
        summary.textContent = "No films yet.";
        results.replaceChildren(emptyCatalogue());
      } else {
        summary.textContent = cursor ? "No more films." : "No films match these filters.";
        results.replaceChildren(
          h("div", { class: "empty", "data-testid": "movies-empty" }, h("p", null, "Nothing found. Try fewer words or wider filters.")),
        );
      }
    } else {
      const films = `${formatNumber(total)} ${total === 1 ? "film" : "films"}${unfiltered ? "" : " match"}`;
      if (pageNumber === 1 && !next) {
        summary.textContent = films;
      } else if (pageNumber !== null) {
        const first = (pageNumber - 1) * PAGE_SIZE + 1;
        const range = `${formatNumber(first)}–${formatNumber(first + items.length - 1)}`;
        summary.textContent = `${films} · page ${pageNumber} (${range})${next ? "" : ", the last page"}`;
      } else {
        summary.textContent = `${films} · ${items.length} on this page${next ? "" : ", the last page"}`;
      }
      results.replaceChildren(
        h(
          "div",
          { class: "table-scroll" },
          h(
            "table",
            { class: "table movies-table" },
            h("caption", { class: "sr-only" }, "Films"),
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                h("th", { scope: "col" }, "Title"),
                h("th", { scope: "col", class: "num" }, "Year"),
                h("th", { scope: "col", class: "hide-sm" }, "Genre"),
                h("th", { scope: "col", class: "hide-md" }, "Director"),
                h("th", { scope: "col", class: "num" }, "IMDb"),
                h("th", { scope: "col", class: "num hide-sm" }, "Rotten Tomatoes"),
              ),
            ),
            h("tbody", { "data-testid": "movie-results" }, items.map(resultRow)),
          ),
        ),
      );
    }
    updatePager();
  }

  function updatePager(): void {
    prev.disabled = !cursor;
    next.disabled = !nextCursor;
    pager.hidden = !cursor && !nextCursor;
  }

  prev.addEventListener("click", () => {
    const cursors = historyCursors();
    const back = cursors.length > 0 ? cursors[cursors.length - 1] : "";
    navigate(urlOf(filters, back), { state: { cursors: cursors.slice(0, -1) } satisfies HistoryState });
  });
  next.addEventListener("click", () => {
    if (!nextCursor) return;
    const cursors = cursor ? historyCursors() : [];
    // A page reached from a shared link has no stack: "Previous" then goes to the first page.
    const stack = cursor && cursors.length === 0 ? [""] : cursors;
    navigate(urlOf(filters, nextCursor), { state: { cursors: [...stack, cursor] } satisfies HistoryState });
  });

  const typed = debounce(() => commit(controls(), true), 350);
  q.addEventListener("input", typed);
  yearMin.addEventListener("input", typed);
  yearMax.addEventListener("input", typed);
  q.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      typed.cancel();
      commit(controls(), true);
    }
  });
  for (const select of [genre, ratingMin, sort]) {
    select.addEventListener("change", () => {
      typed.cancel();
      commit(controls(select === sort), false);
    });
  }

  function apply(query: URLSearchParams): void {
    filters = filtersOf(query);
    cursor = query.get("cursor") ?? "";
    lastListUrl = location.pathname + location.search;
    syncControls();
    void load();
  }

  // The genres and year range of the catalogue, for the filters.
  api
    .movieStats(ctx.signal)
    .then((stats: MovieStats) => {
      catalogue.textContent = `${formatNumber(stats.total)} films in the catalogue`;
      catalogueTotal = stats.total;
      if (stats.total === 0 && shown && shown.items.length === 0) show(shown.items, shown.next, shown.total);
      const chosen = genre.value;
      for (const g of stats.by_genre) {
        if (!g.genre || [...genre.options].some((o) => o.value === g.genre)) continue;
        genre.append(h("option", { value: g.genre }, `${g.genre} (${formatNumber(g.movies)})`));
      }
      genre.value = chosen;
      const years = stats.by_year.map((y) => y.year).filter((y): y is number => typeof y === "number");
      if (years.length > 0) {
        const lo = String(Math.min(...years));
        const hi = String(Math.max(...years));
        for (const input of [yearMin, yearMax]) {
          input.min = lo;
          input.max = hi;
        }
        yearMin.placeholder = lo;
        yearMax.placeholder = hi;
      }
    })
    .catch(() => {
      if (ctx.signal.aborted) return;
      catalogue.textContent = "The genre list could not be loaded; the other filters work.";
    });

  apply(ctx.query);
  return {
    update: apply,
    dispose: () => {
      typed.cancel();
      inflight?.abort();
    },
  };
}
