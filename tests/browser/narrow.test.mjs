// Every page at the width of a phone (390 px): nothing makes the page scroll
// sideways (tables scroll inside their own box), signed out and signed in as
// an admin. Node runs the test files in name order: this one comes after
// admin.test.mjs, which leaves runs and jobs to show.

import assert from "node:assert/strict";
import { test } from "node:test";

import { adminToken, api, config, fillSignIn, horizontalOverflow, screenshot, withBrowser } from "./lib.mjs";

const PHONE = { width: 390, height: 844 };

test("no page scrolls sideways at 390 px", { timeout: 300_000 }, async () => {
  const token = await adminToken();
  const film = (await api("/api/v1/movies?limit=1")).items[0];
  assert.ok(film, "no films: were the movies loaded?");
  const runs = await api("/api/v1/pipelines/movies_etl/runs?limit=1", { token });
  assert.ok(runs.items.length > 0, "no runs of movies_etl to show");
  const jobs = await api("/api/v1/jobs?limit=1", { token });
  assert.ok(jobs.items.length > 0, "no jobs to show");

  // Each page and what shows that it has rendered its content.
  const pages = [
    ["landing", "/", "[data-testid=owner-name]"],
    ["movies", "/movies", "[data-testid=movie-row]"],
    ["movies-filtered", "/movies?genre=Drama&sort=-imdb_rating", "[data-testid=movie-row]"],
    ["movie", `/movies/${film.id}`, "[data-testid=movie-detail-title]"],
    ["terminal", "/terminal", "[data-testid=terminal-status][data-state=connected]"],
    ["not-found", "/no/such/page", "h1"],
    ["login", "/admin/login", "[data-testid=login-form]"],
  ];
  const signedIn = [
    ["pipelines", "/admin/pipelines", "[data-testid=pipeline-movies_etl]"],
    ["run", `/admin/runs/${runs.items[0].id}`, "[data-testid=run-state]"],
    ["jobs", "/admin/jobs", "[data-testid=jobs-list] tr"],
    ["jobs-filtered", `/admin/jobs?state=${jobs.items[0].state}`, "[data-testid=jobs-list] tr"],
    ["account", "/account", "[data-testid=session]"],
    ["login-signed-in", "/admin/login", "[data-testid=signed-in-as]"],
  ];

  await withBrowser(
    "narrow",
    async ({ page, pageErrors }) => {
      const wide = [];
      const visit = async ([name, path, ready]) => {
        await page.goto(path);
        await page.locator(ready).first().waitFor();
        const { scrollWidth, clientWidth } = await horizontalOverflow(page);
        if (scrollWidth > clientWidth) wide.push(`${path}: ${scrollWidth} px of content in ${clientWidth} px`);
        await screenshot(page, `390-${name}`);
      };
      for (const p of pages) await visit(p);
      await page.goto("/admin/login");
      await fillSignIn(page, config.adminEmail, config.adminPassword);
      await page.waitForURL("**/admin/pipelines");
      for (const p of signedIn) await visit(p);
      assert.deepEqual(wide, [], "pages wider than a 390 px screen");
      assert.deepEqual(pageErrors, [], "uncaught errors in the page");
    },
    PHONE,
  );
});
