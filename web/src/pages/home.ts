// The landing page: whose site this is and their projects, all from
// GET /api/v1/site, and the way into the terminal and the movies explorer.

import { api, ApiError } from "../api";
import { h } from "../dom";
import type { RouteContext } from "../router";
import type { Link, Site } from "../types";
import { errorBox, formatNumber, loading, setTitle } from "../ui";

/** An href safe to put in a link: web, mail and same-site addresses only. */
export function safeHref(url: string): string | null {
  try {
    const u = new URL(url, location.origin);
    return ["http:", "https:", "mailto:"].includes(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

function linkList(links: Link[] | undefined, className: string, testId: string): HTMLElement | null {
  const usable = (links ?? []).filter((l) => l && l.label && safeHref(l.url));
  if (usable.length === 0) return null;
  return h(
    "ul",
    { class: className, "data-testid": testId },
    usable.map((l) => {
      const href = safeHref(l.url) as string;
      const external = new URL(href).origin !== location.origin;
      return h("li", null, h("a", { href, rel: external ? "noopener" : null }, l.label));
    }),
  );
}

/** Paragraphs of a text whose paragraphs are separated by blank lines. */
function paragraphs(text: string | null | undefined, className: string): HTMLElement[] {
  if (!text) return [];
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => h("p", { class: className }, p));
}

/** How many films the explorer has, from the catalogue itself; filled in when the statistics come. */
function movieCount(signal: AbortSignal): HTMLElement {
  const el = h("span", { class: "explore-count", "data-testid": "movies-total" });
  api
    .movieStats(signal)
    .then((stats) => {
      el.textContent =
        stats.total === 0
          ? "No films are loaded yet: see how to load them."
          : `${formatNumber(stats.total)} ${stats.total === 1 ? "film" : "films"} in the catalogue.`;
      el.dataset.total = String(stats.total);
    })
    .catch(() => {
      // The card still leads to the explorer, which says what is wrong.
    });
  return el;
}

function explore(signal: AbortSignal): HTMLElement {
  return h(
    "section",
    { class: "explore", "aria-labelledby": "explore-title" },
    h("h2", { id: "explore-title", class: "sr-only" }, "Explore"),
    h(
      "a",
      { class: "explore-card explore-terminal", href: "/terminal", "data-testid": "cta-terminal" },
      h("span", { class: "explore-kicker", "aria-hidden": "true" }, ">_"),
      h("span", { class: "explore-title" }, "Open the terminal"),
      h("span", { class: "explore-text" }, "A command line over this site's data, right in the browser."),
    ),
    h(
      "a",
      { class: "explore-card explore-movies", href: "/movies", "data-testid": "cta-movies" },
      h("span", { class: "explore-kicker", "aria-hidden": "true" }, "★"),
      h("span", { class: "explore-title" }, "Explore the movies"),
      h("span", { class: "explore-text" }, "Search, filter and sort films by genre, year and rating."),
      movieCount(signal),
    ),
  );
}

function renderSite(site: Site, signal: AbortSignal): HTMLElement[] {
  const owner = site.owner;
  const projects = site.projects ?? [];
  return [
    h(
      "header",
      { class: "hero", "data-testid": "owner" },
      h("h1", { class: "hero-name", "data-testid": "owner-name" }, owner.name),
      owner.headline ? h("p", { class: "hero-headline", "data-testid": "owner-headline" }, owner.headline) : null,
      ...paragraphs(owner.summary, "hero-summary"),
      linkList(owner.links, "link-row", "owner-links"),
    ),
    explore(signal),
    h(
      "section",
      { class: "projects", "aria-labelledby": "projects-title" },
      h("h2", { id: "projects-title" }, "Projects"),
      projects.length === 0
        ? h("p", { class: "muted" }, "No projects are listed yet.")
        : h(
            "ul",
            { class: "project-grid", "data-testid": "projects" },
            projects.map((p) =>
              h(
                "li",
                { class: "card project", "data-testid": "project" },
                h("h3", { class: "project-name", "data-testid": "project-name" }, p.name),
                ...paragraphs(p.summary, "project-summary"),
                p.tags && p.tags.length > 0
                  ? h(
                      "ul",
                      { class: "tags", "aria-label": "Tags" },
                      p.tags.map((t) => h("li", { class: "tag" }, t)),
                    )
                  : null,
                linkList(p.links, "link-row link-row-small", "project-links"),
              ),
            ),
          ),
    ),
  ];
}

export function renderHome(ctx: RouteContext): void {
  setTitle();
  const page = h("div", { class: "page home" });
  ctx.root.append(page);

  const load = () => {
    page.replaceChildren(h("h1", { class: "sr-only" }, "Home"), loading(), explore(ctx.signal));
    api
      .site(ctx.signal)
      .then((site) => {
        page.replaceChildren(...renderSite(site, ctx.signal));
        setTitle(site.owner.name);
      })
      .catch((err) => {
        if (ctx.signal.aborted) return;
        // A server without a site description is not broken: say so plainly.
        const undescribed = err instanceof ApiError && err.problem.type === "urn:hangar:problem:no-site";
        page.replaceChildren(
          h("h1", null, "Hangar"),
          undescribed
            ? h(
                "div",
                { class: "card notice", "data-testid": "site-undescribed" },
                h("p", null, "The owner of this site has not described it yet."),
                h("p", { class: "muted" }, err.detail),
              )
            : h("div", { "data-testid": "site-error" }, errorBox(err, load)),
          explore(ctx.signal),
        );
      });
  };
  load();
}
