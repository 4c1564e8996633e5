// The landing page shows whose site it is and their projects, as GET /api/v1/site says.

import assert from "node:assert/strict";
import { test } from "node:test";

import { api, screenshot, withBrowser } from "./lib.mjs";

test("the landing page renders the owner and the projects from /api/v1/site", { timeout: 120_000 }, async () => {
  const site = await api("/api/v1/site");
  assert.ok(site?.owner?.name, "GET /api/v1/site has no owner.name");
  assert.ok(Array.isArray(site.projects) && site.projects.length > 0, "GET /api/v1/site lists no projects");

  await withBrowser("landing", async ({ page, pageErrors }) => {
    await page.goto("/");
    const owner = page.getByTestId("owner-name");
    await owner.waitFor();
    assert.equal((await owner.textContent())?.trim(), site.owner.name, "the page's heading is not the owner's name from the API");

    const shown = (await page.getByTestId("project-name").allTextContents()).map((t) => t.trim());
    assert.deepEqual(
      shown,
      site.projects.map((p) => p.name),
      "the project cards are not the projects of /api/v1/site, in order",
    );
    if (site.owner.headline) {
      assert.equal((await page.getByTestId("owner-headline").textContent())?.trim(), site.owner.headline);
    }

    // The ways in to the terminal and the movies explorer.
    assert.equal(await page.getByTestId("cta-terminal").getAttribute("href"), "/terminal");
    assert.equal(await page.getByTestId("cta-movies").getAttribute("href"), "/movies");
    assert.equal(await page.title(), `${site.owner.name} · Hangar`);

    await screenshot(page, "01-landing");
    assert.deepEqual(pageErrors, [], "uncaught errors in the page");
  });
});
