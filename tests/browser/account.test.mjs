// A signed-in account without the admin role has a page of its own: its e-mail
// and roles, and its sign-in sessions (this browser's marked), each of which it
// can sign out, or all but this one; a session signed out here stops working
// at once.

import assert from "node:assert/strict";
import { test } from "node:test";

import { api, config, fillSignIn, screenshot, signIn, withBrowser } from "./lib.mjs";

/** GET /api/v1/auth/me with `token`: the status. */
async function meStatus(token) {
  const response = await fetch(`${config.baseUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  return response.status;
}

/** The id of the session `tokens` belongs to, as the API lists it. */
async function sessionId(tokens) {
  const { sessions } = await api("/api/v1/auth/sessions", { token: tokens.access_token });
  const current = sessions.filter((s) => s.current);
  assert.equal(current.length, 1, `the API marks ${current.length} sessions current`);
  return current[0].id;
}

/** Waits until the page lists `n` sessions. */
async function waitForSessions(page, n) {
  await page.waitForFunction((count) => document.querySelectorAll("[data-testid=session]").length === count, n);
}

test("an account lists its sessions and signs them out", { timeout: 180_000 }, async () => {
  // Two other sign-ins of the same account: a laptop and a phone.
  const laptop = await signIn(config.userEmail, config.userPassword);
  const phone = await signIn(config.userEmail, config.userPassword);
  const laptopId = await sessionId(laptop);
  const phoneId = await sessionId(phone);

  await withBrowser("account", async ({ page, pageErrors }) => {
    await page.goto("/account");
    // Signed out, the page asks for a sign-in and comes back.
    await page.waitForURL("**/admin/login?next=%2Faccount");
    await fillSignIn(page, config.userEmail, config.userPassword);
    await page.waitForURL(`${config.baseUrl}/account`);

    assert.equal((await page.getByTestId("account-email").textContent())?.trim(), config.userEmail);
    const me = await api("/api/v1/auth/me", { token: laptop.access_token });
    assert.equal((await page.getByTestId("account-roles").textContent())?.trim(), me.roles.join(", "));
    assert.ok(!me.roles.includes("admin"), "the test account should not be an admin");
    assert.equal(await page.getByTestId("nav-user").getAttribute("href"), "/account");

    // Every active session the API has for the account, this one marked.
    const listed = (await api("/api/v1/auth/sessions", { token: laptop.access_token })).sessions;
    await waitForSessions(page, listed.length);
    const shownIds = await page.getByTestId("session").evaluateAll((items) => items.map((li) => li.dataset.id));
    assert.deepEqual(new Set(shownIds), new Set(listed.map((s) => s.id)), "the page does not list the account's sessions");
    const current = page.locator("[data-testid=session][data-current=true]");
    assert.equal(await current.count(), 1, "not exactly one session is marked as this browser's");
    const currentId = await current.getAttribute("data-id");
    assert.ok(![laptopId, phoneId].includes(currentId), "another sign-in is marked as this browser's");
    assert.match((await current.textContent()) ?? "", /this browser/);
    for (const item of await page.getByTestId("session").all()) {
      assert.match((await item.textContent()) ?? "", /Signed in.*Last used/s, "a session without its times");
    }
    await screenshot(page, "10-account");

    // One session signed out from here: it goes from the list and stops working.
    await page.getByTestId(`revoke-${laptopId}`).click();
    await waitForSessions(page, listed.length - 1);
    assert.equal(await page.locator(`[data-testid=session][data-id="${laptopId}"]`).count(), 0);
    assert.equal(await meStatus(laptop.access_token), 401, "the laptop's token still works after it was signed out");
    assert.equal(await meStatus(phone.access_token), 200, "the phone was signed out too");

    // Everywhere else: only this browser is left, and it still works.
    await page.getByTestId("revoke-others").click();
    await page.getByTestId("revoked-others").waitFor();
    await waitForSessions(page, 1);
    assert.equal(await page.locator("[data-testid=session][data-current=true]").getAttribute("data-id"), currentId);
    assert.equal(await meStatus(phone.access_token), 401, "the phone's token still works after signing out everywhere else");
    assert.ok(await page.getByTestId("revoke-others").isDisabled(), "nothing is left to sign out, yet the button is enabled");
    await page.reload();
    await waitForSessions(page, 1);
    await screenshot(page, "11-account-alone");

    // The admin pages explain themselves and lead back here.
    await page.goto("/admin/jobs");
    const notAdmin = page.getByTestId("not-admin");
    await notAdmin.waitFor();
    assert.equal(await notAdmin.getByRole("link", { name: "your account" }).getAttribute("href"), "/account");

    // Signing out of this session from the list signs this browser out.
    await page.goto("/account");
    await page.getByTestId(`revoke-${currentId}`).click();
    await page.waitForURL("**/admin/login");
    await page.getByTestId("login-form").waitFor();
    assert.deepEqual(pageErrors, [], "uncaught errors in the page");
  });
});
