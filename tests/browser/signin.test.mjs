// Sign-in's `?next=` never leads off the site: addresses that a URL parser
// reads as another host (a tab or line feed after the first slash, `//`, `/\`),
// other origins and `javascript:` fall back to the default page, both after
// the form is sent and in the signed-in page's "Continue" link. A path on the
// site is followed.

import assert from "node:assert/strict";
import { test } from "node:test";

import { config, fillSignIn, screenshot, withBrowser } from "./lib.mjs";

const OFF_SITE = [
  "/\t/example.org",
  "/\n/example.org",
  "/\t/example.org/admin/jobs",
  "//example.org",
  "/\\example.org",
  "\\/example.org",
  " //example.org",
  "/..//example.org",
  "/.//example.org",
  "/%2e//example.org",
  "https://other.example.net/admin/jobs",
  "javascript:alert(document.domain)",
  "data:text/html,<p>elsewhere</p>",
];

/** Every request the page makes to a host other than the site's is recorded and refused. */
async function fenceOffSite(page) {
  const site = new URL(config.baseUrl);
  const offSite = [];
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.host === site.host) return route.continue();
    offSite.push(route.request().url());
    return route.abort();
  });
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame() && !frame.url().startsWith(config.baseUrl)) offSite.push(frame.url());
  });
  return offSite;
}

/** The login page's address with `next`. */
function loginUrl(next) {
  return `/admin/login?${new URLSearchParams({ next })}`;
}

test("?next= after sign-in stays on the site", { timeout: 240_000 }, async () => {
  await withBrowser("signin-next", async ({ page, pageErrors }) => {
    const offSite = await fenceOffSite(page);

    for (const next of OFF_SITE) {
      const shown = JSON.stringify(next);
      // Signing in with the form goes to the default page.
      await page.goto("/");
      await page.evaluate(() => sessionStorage.clear());
      await page.goto(loginUrl(next));
      await fillSignIn(page, config.adminEmail, config.adminPassword);
      await page.waitForURL((url) => url.pathname !== "/admin/login");
      assert.equal(page.url(), `${config.baseUrl}/admin/pipelines`, `next=${shown}: the form sent the admin to ${page.url()}`);

      // Signed in, the login page's "Continue" link goes to the default page too.
      await page.goto(loginUrl(next));
      const link = page.getByTestId("continue");
      await link.waitFor();
      const href = await link.evaluate((a) => a.href);
      assert.equal(href, `${config.baseUrl}/admin/pipelines`, `next=${shown}: "Continue to admin" points at ${href}`);
      await link.click();
      await page.waitForURL(`${config.baseUrl}/admin/pipelines`);
    }
    await screenshot(page, "09-signin-next");
    assert.deepEqual(offSite, [], "the page asked for or went to an address off the site");

    // A page of the site is where the user goes, query string included.
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(loginUrl("/admin/jobs?state=dead"));
    await fillSignIn(page, config.adminEmail, config.adminPassword);
    await page.waitForURL(`${config.baseUrl}/admin/jobs?state=dead`);
    await page.goto(loginUrl("/movies?genre=Drama#top"));
    assert.equal(await page.getByTestId("continue").evaluate((a) => a.href), `${config.baseUrl}/movies?genre=Drama#top`);
    assert.deepEqual(pageErrors, [], "uncaught errors in the page");
  });
});

test("an account without the admin role goes to its own page after sign-in", { timeout: 120_000 }, async () => {
  await withBrowser("signin-user", async ({ page, pageErrors }) => {
    await page.goto("/admin/login");
    await fillSignIn(page, config.userEmail, config.userPassword);
    await page.waitForURL(`${config.baseUrl}/account`);
    await page.goto(loginUrl("//example.org"));
    assert.equal(await page.getByTestId("continue").evaluate((a) => a.href), `${config.baseUrl}/account`);
    assert.deepEqual(pageErrors, [], "uncaught errors in the page");
  });
});
