// The movies explorer: a title search shows what the API finds, every result
// matches, the filters live in the URL, a film opens in its detail view, and
// pages follow next_cursor forward and back.

import assert from "node:assert/strict";
import { test } from "node:test";

import { api, screenshot, withBrowser, words, WAIT } from "./lib.mjs";

/** The titles in the results table, in order. */
async function shownTitles(page) {
  return (await page.getByTestId("movie-title").allTextContents()).map((t) => t.trim());
}

/** Waits until the results table shows exactly `titles`. */
async function waitForTitles(page, titles, what) {
  try {
    await page.waitForFunction(
      (expected) => {
        const shown = [...document.querySelectorAll("[data-testid=movie-title]")].map((a) => a.textContent.trim());
        return JSON.stringify(shown) === JSON.stringify(expected);
      },
      titles,
      { timeout: WAIT },
    );
  } catch {
    assert.deepEqual(await shownTitles(page), titles, `${what}: the table does not show what the API answers`);
  }
}

/**
 * A word of the fixture's titles to search for: among the words of the first
 * page's titles (four letters or more), the one the API finds the most films
 * for, short of a full page, so the check that every result matches has
 * several results to look at.
 */
async function chooseQuery() {
  const first = await api("/api/v1/movies?limit=20");
  assert.ok(first.items.length > 0, "GET /api/v1/movies has no films: were the fixture movies loaded?");
  const candidates = [...new Set(first.items.flatMap((m) => words(m.title)).filter((w) => w.length >= 4))].slice(0, 12);
  assert.ok(candidates.length > 0, "no word of four letters or more in the first page's titles");
  let best = null;
  for (const query of candidates) {
    const expected = await api(`/api/v1/movies?${new URLSearchParams({ q: query, limit: "20" })}`);
    const n = expected.items.length;
    if (n > 0 && !expected.next_cursor && (!best || n > best.expected.items.length)) best = { query, expected };
  }
  assert.ok(best, `the API finds nothing for any of ${candidates.join(", ")}`);
  return best;
}

test("searching titles shows matching films, and a film opens in its detail view", { timeout: 180_000 }, async () => {
  const { query, expected } = await chooseQuery();

  await withBrowser("movies", async ({ page, pageErrors }) => {
    await page.goto("/movies");
    await page.getByTestId("movie-row").first().waitFor();

    await page.getByLabel("Search titles").fill(query);
    await page.waitForURL((url) => url.searchParams.get("q") === query);
    await waitForTitles(page, expected.items.map((m) => m.title), `search for "${query}"`);

    for (const title of await shownTitles(page)) {
      assert.ok(
        words(title).some((w) => w.startsWith(query)),
        `"${title}" is among the results for "${query}" but has no word starting with it`,
      );
    }
    const count = await page.getByTestId("movies-count").textContent();
    assert.match(count ?? "", new RegExp(`\\b${expected.items.length}\\b`), `the result count "${count}" does not say ${expected.items.length}`);
    await screenshot(page, "02-movies");

    // The search is in the URL: a reload shows the same.
    await page.reload();
    await waitForTitles(page, expected.items.map((m) => m.title), "after a reload");
    assert.equal(await page.getByLabel("Search titles").inputValue(), query, "the search box lost the query on reload");

    // The first result's detail view has every field the API has for it.
    const film = expected.items[0];
    await page.getByTestId("movie-title").first().click();
    await page.waitForURL(`**/movies/${film.id}`);
    const heading = page.getByTestId("movie-detail-title");
    await heading.waitFor();
    assert.equal((await heading.textContent())?.trim(), film.title);
    const detail = await api(`/api/v1/movies/${film.id}`);
    const facts = {
      "movie-director": detail.director,
      "movie-distributor": detail.distributor,
      "movie-genre": detail.major_genre,
      "movie-release-year": detail.release_year === null ? null : String(detail.release_year),
      "movie-id": String(detail.id),
    };
    for (const [testId, value] of Object.entries(facts)) {
      const text = (await page.getByTestId(testId).textContent())?.trim();
      assert.equal(text, value ?? "—", `${testId} shows "${text}", the API says ${JSON.stringify(value)}`);
    }
    await screenshot(page, "03-movie-detail");

    // Back to the same results.
    await page.goBack();
    await waitForTitles(page, expected.items.map((m) => m.title), "back from the detail view");
    assert.deepEqual(pageErrors, [], "uncaught errors in the page");
  });
});

test("Next page follows next_cursor and Previous comes back", { timeout: 120_000 }, async () => {
  const sort = "-imdb_rating";
  const page1 = await api(`/api/v1/movies?sort=${sort}&limit=20`);
  assert.ok(page1.next_cursor, "the fixture movies fit on one page of 20: nothing to page through");
  const page2 = await api(`/api/v1/movies?sort=${sort}&limit=20&cursor=${encodeURIComponent(page1.next_cursor)}`);

  await withBrowser("movies-pages", async ({ page, pageErrors }) => {
    await page.goto(`/movies?sort=${sort}`);
    await waitForTitles(page, page1.items.map((m) => m.title), "page 1");
    assert.equal(await page.getByLabel("Sort by").inputValue(), sort, "the sort select does not show the URL's sort");

    await page.getByTestId("next-page").click();
    await waitForTitles(page, page2.items.map((m) => m.title), "page 2");
    assert.equal(new URL(page.url()).searchParams.get("cursor"), page1.next_cursor, "the URL does not hold the cursor");

    await page.getByTestId("prev-page").click();
    await waitForTitles(page, page1.items.map((m) => m.title), "Previous from page 2");
    assert.ok(await page.getByTestId("prev-page").isDisabled(), "Previous is enabled on the first page");
    assert.deepEqual(pageErrors, [], "uncaught errors in the page");
  });
});

/** The labels of the sort menu's options, and the one chosen. */
async function sortMenu(page) {
  const select = page.getByLabel("Sort by");
  return {
    labels: (await select.locator("option").allTextContents()).map((t) => t.trim()),
    chosen: await select.evaluate((s) => s.selectedOptions[0]?.textContent?.trim() ?? ""),
    value: await select.inputValue(),
  };
}

test("the sort menu offers each order once and always shows the one in use", { timeout: 120_000 }, async () => {
  await withBrowser("movies-sort", async ({ page, pageErrors }) => {
    for (const [path, value, label] of [
      ["/movies", "id", "Order added"],
      ["/movies?sort=id", "id", "Order added"],
      ["/movies?sort=-id", "-id", "Last added first"],
      ["/movies?sort=-title", "-title", "Title, Z to A"],
      ["/movies?q=the", "", "Best match"],
      ["/movies?q=the&sort=id", "id", "Order added"],
    ]) {
      await page.goto(path);
      await page.getByTestId("movie-row").first().waitFor();
      const menu = await sortMenu(page);
      assert.deepEqual(menu.labels, [...new Set(menu.labels)], `${path}: an order is offered twice: ${menu.labels.join(" | ")}`);
      assert.equal(menu.value, value, `${path}: the menu's value`);
      assert.equal(menu.chosen, label, `${path}: the menu shows "${menu.chosen}"`);
      assert.equal(menu.labels.includes("Best match"), path.includes("q="), `${path}: "Best match" is offered only for a search`);
    }
    // The order of ?sort=-id is the API's.
    const newest = await api("/api/v1/movies?sort=-id&limit=20");
    await page.goto("/movies?sort=-id");
    await waitForTitles(page, newest.items.map((m) => m.title), "sort=-id");
    // Choosing another filter keeps the order out of the address when none was chosen.
    await page.goto("/movies");
    await page.getByTestId("movie-row").first().waitFor();
    await page.getByLabel("IMDb rating").selectOption("8");
    await page.waitForURL((url) => url.searchParams.get("rating_min") === "8");
    assert.equal(new URL(page.url()).searchParams.get("sort"), null, "a default order was written into the address");
    assert.deepEqual(pageErrors, [], "uncaught errors in the page");
  });
});

/** The number a results summary starts with ("1,234 films match · …"). */
function leadingCount(text) {
  const m = /^([\d.,\s\u202f]+)\s+films?\b/.exec(text.trim());
  return m ? Number(m[1].replace(/\D/g, "")) : null;
}

test("filtered results say how many films match in all", { timeout: 120_000 }, async () => {
  const stats = await api("/api/v1/movies/stats");
  const drama = stats.by_genre.find((g) => g.genre === "Drama");
  assert.ok(drama && drama.movies > 20, "the fixture should have more than a page of dramas");
  const recent = await api("/api/v1/movies?genre=Drama&year_min=2000&limit=1");

  await withBrowser("movies-total", async ({ page, pageErrors }) => {
    const cases = [
      ["/movies", stats.total],
      ["/movies?genre=Drama", drama.movies],
      ["/movies?genre=Drama&year_min=2000&sort=-imdb_rating", recent.total],
    ];
    for (const [path, expected] of cases) {
      await page.goto(path);
      await page.getByTestId("movie-row").first().waitFor();
      const summary = page.getByTestId("movies-count");
      const text = (await summary.textContent()) ?? "";
      assert.equal(leadingCount(text), expected, `${path}: the summary "${text}" does not start with ${expected} films`);
      // The next page still says the total.
      if (expected > 20) {
        await page.getByTestId("next-page").click();
        await page.waitForURL((url) => url.searchParams.has("cursor"));
        await page.waitForFunction(() => /page 2/.test(document.querySelector("[data-testid=movies-count]")?.textContent ?? ""));
        const second = (await summary.textContent()) ?? "";
        assert.equal(leadingCount(second), expected, `${path}, page 2: "${second}"`);
      }
    }
    await screenshot(page, "04-movies-total");
    assert.deepEqual(pageErrors, [], "uncaught errors in the page");
  });
});
