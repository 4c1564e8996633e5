// One film: every field GET /api/v1/movies/{id} has.

import { api, ApiError } from "../api";
import { h } from "../dom";
import type { RouteContext } from "../router";
import type { Movie } from "../types";
import { DASH, errorBox, formatDate, formatMoney, formatNumber, loading, setTitle } from "../ui";
import { moviesListUrl } from "./movies";

function filterLink(param: string, value: string | null | undefined): Node | string {
  if (!value) return DASH;
  return h("a", { href: `/movies?${new URLSearchParams({ [param]: value })}` }, value);
}

function fact(label: string, value: Node | string, testId: string): HTMLElement[] {
  return [h("dt", null, label), h("dd", { "data-testid": testId }, value)];
}

function renderDetail(m: Movie): HTMLElement {
  const minutes = m.running_time_min;
  const runningTime =
    minutes === null || minutes === undefined
      ? DASH
      : minutes >= 60
        ? `${minutes} min (${Math.floor(minutes / 60)} h ${minutes % 60} min)`
        : `${minutes} min`;
  const imdb =
    m.imdb_rating === null || m.imdb_rating === undefined
      ? DASH
      : `${m.imdb_rating.toFixed(1)} / 10${m.imdb_votes ? ` from ${formatNumber(m.imdb_votes)} votes` : ""}`;
  return h(
    "article",
    { class: "movie-detail", "data-testid": "movie-detail" },
    h(
      "header",
      { class: "movie-head" },
      h("h1", { "data-testid": "movie-detail-title" }, m.title),
      h(
        "p",
        { class: "movie-meta" },
        [m.release_year, m.major_genre, m.mpaa_rating, minutes ? `${minutes} min` : null].filter(Boolean).join(" · ") || "No details recorded",
      ),
    ),
    h(
      "div",
      { class: "scores" },
      h(
        "div",
        { class: "score" },
        h("span", { class: "score-value" }, m.imdb_rating === null || m.imdb_rating === undefined ? DASH : m.imdb_rating.toFixed(1)),
        h("span", { class: "score-label" }, "IMDb rating"),
      ),
      h(
        "div",
        { class: "score" },
        h("span", { class: "score-value" }, m.rotten_tomatoes_rating === null || m.rotten_tomatoes_rating === undefined ? DASH : `${m.rotten_tomatoes_rating}%`),
        h("span", { class: "score-label" }, "Rotten Tomatoes"),
      ),
      h(
        "div",
        { class: "score" },
        h("span", { class: "score-value" }, formatMoney(m.worldwide_gross)),
        h("span", { class: "score-label" }, "Worldwide gross"),
      ),
    ),
    h(
      "dl",
      { class: "facts" },
      fact("Release date", formatDate(m.release_date), "movie-release-date"),
      fact("Release year", m.release_year === null || m.release_year === undefined ? DASH : String(m.release_year), "movie-release-year"),
      fact("Genre", filterLink("genre", m.major_genre), "movie-genre"),
      fact("Creative type", m.creative_type ?? DASH, "movie-creative-type"),
      fact("Source", m.source ?? DASH, "movie-source"),
      fact("Director", m.director ?? DASH, "movie-director"),
      fact("Distributor", filterLink("distributor", m.distributor), "movie-distributor"),
      fact("MPAA rating", m.mpaa_rating ?? DASH, "movie-mpaa-rating"),
      fact("Running time", runningTime, "movie-running-time"),
      fact("IMDb rating", imdb, "movie-imdb"),
      fact("Rotten Tomatoes rating", m.rotten_tomatoes_rating === null || m.rotten_tomatoes_rating === undefined ? DASH : `${m.rotten_tomatoes_rating}%`, "movie-rotten-tomatoes"),
      fact("Production budget", formatMoney(m.production_budget), "movie-budget"),
      fact("US gross", formatMoney(m.us_gross), "movie-us-gross"),
      fact("Worldwide gross", formatMoney(m.worldwide_gross), "movie-worldwide-gross"),
      fact("US DVD sales", formatMoney(m.us_dvd_sales), "movie-dvd-sales"),
      fact("Catalogue id", String(m.id), "movie-id"),
    ),
  );
}

export function renderMovie(ctx: RouteContext): void {
  setTitle("Movie");
  const body = h("div", { class: "movie-body" });
  ctx.root.append(
    h(
      "section",
      { class: "page narrow" },
      h("p", { class: "breadcrumb" }, h("a", { href: moviesListUrl(), "data-testid": "back-to-results" }, "← Back to the results")),
      body,
    ),
  );
  const id = ctx.params.id;
  const load = () => {
    body.replaceChildren(h("h1", { class: "sr-only" }, "Movie"), loading());
    if (!/^\d+$/.test(id)) {
      body.replaceChildren(
        h("h1", null, "Movie not found"),
        errorBox(new ApiError({ type: "about:blank", title: "Not found", status: 404, detail: `“${id}” is not a film id.` })),
      );
      return;
    }
    api
      .movie(id, ctx.signal)
      .then((m) => {
        setTitle(m.title, "Movies");
        body.replaceChildren(renderDetail(m));
      })
      .catch((err) => {
        if (ctx.signal.aborted) return;
        const missing = err instanceof ApiError && err.status === 404;
        body.replaceChildren(h("h1", null, missing ? "Movie not found" : "Movie"), errorBox(err, missing ? undefined : load));
      });
  };
  load();
}
