// The terminal: a command typed into xterm.js runs on the server, and its
// table is what the API says.

import assert from "node:assert/strict";
import { test } from "node:test";

import { api, LONG_WAIT, screenshot, terminalRows, withBrowser } from "./lib.mjs";

const COMMAND = "movies top 5 --by imdb_rating";
const FOOTER = "(5 rows)";

/** Whether `line` shows `title`, whole or cut short with "…" to fit the width. */
function showsTitle(line, title) {
  if (line.includes(title)) return true;
  for (let keep = title.length - 1; keep >= 1; keep--) {
    const cut = title.slice(0, keep).trimEnd();
    if (cut && line.includes(`${cut}…`)) return true;
  }
  return false;
}

test(`the terminal runs "${COMMAND}" and prints the API's top 5`, { timeout: 180_000 }, async () => {
  const top = await api("/api/v1/movies/top?by=imdb_rating&n=5");
  assert.equal(top.length, 5, "GET /api/v1/movies/top?by=imdb_rating&n=5 did not answer 5 films");

  await withBrowser("terminal", async ({ page, pageErrors }) => {
    await page.goto("/terminal");
    const terminal = page.getByTestId("terminal");
    await page.locator("[data-testid=terminal-status][data-state=connected]").waitFor({ timeout: LONG_WAIT });
    // The prompt is on screen and takes input.
    await page.locator("[data-testid=terminal][data-input=ready]").waitFor({ timeout: LONG_WAIT });
    await terminal.locator(".xterm-screen").click();
    await page.keyboard.type(COMMAND);
    await page.keyboard.press("Enter");

    // The command ran and the prompt came back.
    await page.waitForFunction(
      (footer) => [...document.querySelectorAll(".xterm-rows > div")].some((row) => row.textContent.replace(/\u00a0/g, " ").trim() === footer),
      FOOTER,
      { timeout: LONG_WAIT },
    );
    await page.locator("[data-testid=terminal][data-input=ready]").waitFor({ timeout: LONG_WAIT });

    const rows = await terminalRows(page);
    const screen = `the terminal shows:\n${rows.filter((r) => r.trim()).join("\n")}`;
    const footer = rows.findLastIndex((r) => r.trim() === FOOTER);
    assert.ok(footer >= 0, `no "${FOOTER}" line; ${screen}`);
    let separator = -1;
    for (let i = footer - 1; i >= 0; i--) {
      if (/^[─\s]+$/.test(rows[i]) && rows[i].includes("─")) {
        separator = i;
        break;
      }
    }
    assert.ok(separator >= 1, `no separator line of "─" above the footer; ${screen}`);
    assert.ok(rows[separator - 1].trim() !== "", `no header line above the separator; ${screen}`);
    const lines = rows.slice(separator + 1, footer);
    assert.equal(lines.length, 5, `${lines.length} lines between the separator and "${FOOTER}", not 5; ${screen}`);

    // Each line is one of the API's top 5 (ties in rating may come in either order), each film once.
    const left = top.map((m) => m.title);
    for (const line of lines) {
      const match = left.findIndex((title) => showsTitle(line, title));
      assert.ok(match >= 0, `the line "${line.trim()}" shows none of the API's top 5 (${left.join(", ")}); ${screen}`);
      left.splice(match, 1);
    }

    await screenshot(page, "04-terminal");
    assert.deepEqual(pageErrors, [], "uncaught errors in the page");
  });
});
