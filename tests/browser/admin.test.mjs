// The admin pages: sign in through the login page, run movies_etl from the
// pipelines page, watch the run view follow the run live to success without a
// reload, and find the run's jobs on the jobs page.
//
// The run reads the fixture movies over HTTP from a server this test starts,
// which holds its answer until the run view shows the `extract` task running:
// every later state change must then reach the page through the live feed,
// however fast the machine is.

import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import { test } from "node:test";

import { adminToken, api, config, LONG_WAIT, screenshot, withBrowser } from "./lib.mjs";

/** Serves the fixture movies at /movies.json on a free port, answering only once released. */
async function heldSource() {
  let release;
  const released = new Promise((resolve) => {
    release = resolve;
  });
  let requests = 0;
  const server = http.createServer(async (req, res) => {
    if (req.url !== "/movies.json") {
      res.writeHead(404).end();
      return;
    }
    requests++;
    await released;
    res.writeHead(200, { "content-type": "application/json" });
    fs.createReadStream(config.moviesJson).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/movies.json`,
    requests: () => requests,
    release,
    close: () => {
      release();
      server.closeAllConnections();
      server.close();
    },
  };
}

/**
 * Records, from now on, every state shown by the run view's state badge and
 * task rows: initial ones as they appear and each change after.
 */
function recordStates() {
  const seen = [];
  window.__stateLog = seen;
  const note = (el) => {
    const id = el.getAttribute("data-testid");
    if (id === "run-state" || (id && id.startsWith("task-"))) seen.push({ id, state: el.getAttribute("data-state") });
  };
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === "attributes") note(m.target);
      for (const node of m.addedNodes) {
        if (!(node instanceof Element)) continue;
        note(node);
        node.querySelectorAll("[data-testid]").forEach(note);
      }
    }
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"] });
}

/** Waits until run `id` has ended (polling the API); fails if it did not succeed. */
async function finished(id, token) {
  const deadline = Date.now() + LONG_WAIT;
  for (;;) {
    const run = await api(`/api/v1/runs/${id}`, { token });
    if (["succeeded", "failed", "cancelled"].includes(run.state)) {
      assert.equal(run.state, "succeeded", `run ${id} ended ${run.state}: ${run.error ?? ""}`);
      return;
    }
    assert.ok(Date.now() < deadline, `run ${id} did not end within ${LONG_WAIT / 1000} s (it is ${run.state})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test("an admin runs movies_etl from the pipelines page and watches it succeed live", { timeout: 240_000 }, async () => {
  const source = await heldSource();
  try {
    await withBrowser("admin", async ({ page, pageErrors }) => {
      // Signed out, the admin pages lead to the login page.
      await page.goto("/admin/pipelines");
      await page.waitForURL("**/admin/login?next=*");
      await page.getByLabel("E-mail").waitFor();
      await screenshot(page, "05-login");

      await page.getByLabel("E-mail").fill(config.adminEmail);
      await page.getByLabel("Password").fill(config.adminPassword);
      await page.getByTestId("login-submit").click();
      await page.waitForURL("**/admin/pipelines");
      assert.equal((await page.getByTestId("nav-user").textContent())?.trim(), config.adminEmail, "the navigation does not show who is signed in");

      const card = page.getByTestId("pipeline-movies_etl");
      await card.waitFor();
      const sourceField = card.getByLabel(/source/);
      await sourceField.waitFor();
      await screenshot(page, "06-pipelines");

      // From here on the page must not load again: a marker on window would be lost.
      await page.evaluate(() => {
        window.__noReload = "still the same page";
      });
      await page.evaluate(recordStates);

      await sourceField.fill(source.url);
      await card.getByTestId("run-movies_etl").click();
      await page.waitForURL("**/admin/runs/*");
      const runId = new URL(page.url()).pathname.split("/").pop();

      // The extract task is running (waiting on the held source)…
      await page.locator("[data-testid=task-extract][data-state=running]").waitFor({ timeout: LONG_WAIT });
      assert.ok(source.requests() >= 1, "the extract task is shown running but never asked for the source");
      source.release();

      // …and the run goes on to success with the page following it.
      const runState = page.getByTestId("run-state");
      try {
        await page.locator("[data-testid=run-state][data-state=succeeded]").waitFor({ timeout: LONG_WAIT });
      } catch (err) {
        const shown = await runState.getAttribute("data-state");
        throw new Error(`the run view did not show the run succeeded within ${LONG_WAIT / 1000} s (it shows "${shown}")`, { cause: err });
      }
      assert.equal((await runState.textContent())?.trim(), "succeeded");

      assert.equal(await page.evaluate(() => window.__noReload), "still the same page", "the page was reloaded");
      const log = await page.evaluate(() => window.__stateLog);
      const extract = log.filter((e) => e.id === "task-extract").map((e) => e.state);
      assert.ok(
        extract.includes("running") && extract.indexOf("succeeded") > extract.indexOf("running"),
        `the extract task's row did not go from running to succeeded in place; states seen: ${JSON.stringify(log)}`,
      );

      // Every task ended as the API says.
      const token = await adminToken();
      const run = await api(`/api/v1/runs/${runId}`, { token });
      assert.equal(run.state, "succeeded");
      for (const task of run.tasks) {
        const row = page.getByTestId(`task-${task.task_id}`);
        assert.equal(await row.getAttribute("data-state"), task.state, `task ${task.task_id}: the page and the API disagree`);
        const states = log.filter((e) => e.id === `task-${task.task_id}`).map((e) => e.state);
        assert.equal(states.at(-1), "succeeded", `task ${task.task_id}: last state seen ${states.at(-1)}`);
      }

      // A task's log lines.
      await page.getByTestId("show-log-extract").click();
      await page.getByTestId("log-lines").locator("li").first().waitFor();
      await screenshot(page, "07-run-succeeded");

      // The run's jobs are on the jobs page.
      await page.getByRole("link", { name: "Jobs" }).click();
      await page.waitForURL("**/admin/jobs");
      const listed = await api("/api/v1/jobs?limit=50", { token });
      assert.ok(listed.items.length > 0, "GET /api/v1/jobs lists no jobs after a run");
      await page.getByTestId(`job-${listed.items[0].id}`).waitFor();
      const rows = await page.getByTestId("jobs-list").locator("tr").count();
      assert.equal(rows, listed.items.length, "the jobs page does not list the jobs the API lists");
      await screenshot(page, "08-jobs");

      // The summary counts every job of the filter, not only the page shown.
      const jobCount = async (path, total) => {
        await page.goto(path);
        await page.getByTestId("jobs-list").locator("tr").first().waitFor();
        const summary = page.getByTestId("jobs-count");
        await page.waitForFunction(() => /\bjobs?\b/.test(document.querySelector("[data-testid=jobs-count]")?.textContent ?? ""));
        const text = ((await summary.textContent()) ?? "").trim();
        const shown = /^([\d.,\s\u202f]+)\s+jobs?\b/.exec(text);
        assert.ok(shown, `${path}: the summary "${text}" does not start with a number of jobs`);
        assert.equal(Number(shown[1].replace(/\D/g, "")), total, `${path}: the summary "${text}" does not say ${total} jobs`);
      };
      // More jobs than a page of the jobs page holds (50), so the total differs
      // from the rows shown: more runs of movies_etl, each waited for.
      let everything = await api("/api/v1/jobs?limit=1", { token });
      while (everything.total <= 50) {
        const more = await api("/api/v1/pipelines/movies_etl/runs", { method: "POST", token, body: { params: { source: config.moviesJson } } });
        await finished(more.id, token);
        everything = await api("/api/v1/jobs?limit=1", { token });
      }
      const succeeded = await api("/api/v1/jobs?limit=500&state=succeeded", { token });
      assert.equal(succeeded.total, succeeded.items.length, "the API's total of succeeded jobs is not the number it lists");
      await jobCount("/admin/jobs", everything.total);
      assert.equal(await page.getByTestId("jobs-list").locator("tr").count(), 50, "the jobs page does not show a page of 50");
      await jobCount("/admin/jobs?state=succeeded", succeeded.items.length);
      await jobCount(`/admin/jobs?queue=${encodeURIComponent(listed.items[0].queue)}`, (await api(`/api/v1/jobs?limit=500&queue=${encodeURIComponent(listed.items[0].queue)}`, { token })).items.length);

      assert.deepEqual(pageErrors, [], "uncaught errors in the page");
    });
  } finally {
    source.close();
  }
});
