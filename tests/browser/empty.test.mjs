// A first start: the catalogue is empty. The landing page says so with the
// catalogue's own count, and the movies page says how to load the films rather
// than "no films match these filters" (also when a filter is set).
// scripts/browser-tests runs this before it loads the movies.

import assert from "node:assert/strict";
import { test } from "node:test";

import { api, screenshot, withBrowser } from "./lib.mjs";

test("an empty catalogue says how to load the films", { timeout: 120_000 }, async () => {
  const stats = await api("/api/v1/movies/stats");
  assert.equal(stats.total, 0, "the catalogue is not empty: this test runs before the movies are loaded");

  await withBrowser("empty", async ({ page, pageErrors }) => {
    await page.goto("/");
    const count = page.locator("[data-testid=movies-total][data-total]");
    await count.waitFor();
    assert.equal(await count.getAttribute("data-total"), "0", "the landing page's film count is not the catalogue's");
    assert.match((await count.textContent()) ?? "", /No films are loaded yet/);
    await screenshot(page, "00-landing-empty");

    for (const path of ["/movies", "/movies?genre=Drama", "/movies?sort=-title"]) {
      await page.goto(path);
      const empty = page.getByTestId("catalogue-empty");
      await empty.waitFor();
      const text = (await empty.textContent()) ?? "";
      assert.match(text, /catalogue is empty/, `${path}: the empty state does not say the catalogue is empty`);
      assert.match(text, /hangar pipeline run movies_etl --wait/, `${path}: the empty state does not say how to load the films`);
      assert.equal(await page.getByTestId("movies-empty").count(), 0, `${path}: "no films match" shown for an empty catalogue`);
      assert.doesNotMatch((await page.getByTestId("movies-count").textContent()) ?? "", /match these filters/);
    }
    assert.equal(await page.getByTestId("catalogue-empty").getByRole("link", { name: "Pipelines" }).getAttribute("href"), "/admin/pipelines");
    await screenshot(page, "00-movies-empty");
    assert.deepEqual(pageErrors, [], "uncaught errors in the page");
  });
});
