// Shared setup of the browser tests: settings from the environment (set by
// scripts/browser-tests), headless Chromium through playwright-core, API calls
// for the expected values, screenshots, and reading xterm.js's DOM rows.

import fs from "node:fs";
import path from "node:path";

import { chromium } from "playwright-core";

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the browser tests with scripts/browser-tests`);
  }
  return value;
}

export const config = {
  baseUrl: required("BROWSER_TEST_BASE_URL").replace(/\/$/, ""),
  adminEmail: required("BROWSER_TEST_ADMIN_EMAIL"),
  adminPassword: required("BROWSER_TEST_ADMIN_PASSWORD"),
  /** An account without the admin role. */
  userEmail: required("BROWSER_TEST_USER_EMAIL"),
  userPassword: required("BROWSER_TEST_USER_PASSWORD"),
  moviesJson: required("BROWSER_TEST_MOVIES_JSON"),
  screenshots: required("SCREENSHOTS_DIR"),
  chromium: process.env.CHROMIUM || "/usr/bin/chromium",
};

/** Generous waits: a slow machine should wait longer, not fail. */
export const WAIT = 30_000;
export const LONG_WAIT = 60_000;

const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * A fresh headless Chromium (playwright-core gives each launch a new temporary
 * profile) and one page on it. Uncaught page errors are collected: a test ends
 * by asserting there were none.
 */
export async function openBrowser(viewport = { width: 1280, height: 900 }) {
  const browser = await chromium.launch({
    executablePath: config.chromium,
    headless: true,
    args: LAUNCH_ARGS,
  });
  const context = await browser.newContext({ viewport, baseURL: config.baseUrl });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  const pageErrors = [];
  const consoleErrors = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  return { browser, page, pageErrors, consoleErrors };
}

/** A full-page screenshot in the screenshots folder; returns its path. */
export async function screenshot(page, name) {
  fs.mkdirSync(config.screenshots, { recursive: true });
  const file = path.join(config.screenshots, `${name}.png`);
  // From the top, so that the sticky header sits where it belongs in the picture.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Runs `body` with a fresh browser; on failure saves a screenshot named after
 * the test and adds the page's errors to the message.
 */
export async function withBrowser(name, body, viewport) {
  const session = await openBrowser(viewport);
  try {
    await body(session);
  } catch (err) {
    let extra = "";
    try {
      const file = await screenshot(session.page, `failed-${name}`);
      extra += `\n  screenshot of the failure: ${file}\n  page URL: ${session.page.url()}`;
    } catch {
      // The page may be gone.
    }
    if (session.pageErrors.length) extra += `\n  uncaught errors in the page:\n    ${session.pageErrors.join("\n    ")}`;
    if (session.consoleErrors.length) extra += `\n  console errors:\n    ${session.consoleErrors.join("\n    ")}`;
    if (err instanceof Error) err.message += extra;
    throw err;
  } finally {
    await session.browser.close();
  }
}

/** GET (or another method) on the API; returns the parsed JSON, throws with the problem's detail. */
export async function api(pathAndQuery, { method = "GET", token, body } = {}) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(config.baseUrl + pathAndQuery, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${method} ${pathAndQuery} answered ${response.status}: ${text}`);
  }
  return text ? JSON.parse(text) : undefined;
}

/** An admin access token, signed in through the API. */
export async function adminToken() {
  return (await signIn(config.adminEmail, config.adminPassword)).access_token;
}

/** Signs in through the API (a new session); returns the token response. */
export async function signIn(email, password) {
  return api("/api/v1/auth/login", { method: "POST", body: { email, password } });
}

/** Signs in through the login form of the page it is on. */
export async function fillSignIn(page, email, password) {
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByTestId("login-submit").click();
}

/** Whether the page scrolls sideways: its content wider than the viewport. */
export async function horizontalOverflow(page) {
  return page.evaluate(() => {
    const el = document.scrollingElement ?? document.documentElement;
    return { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth };
  });
}

/** The text of xterm.js's visible rows (its DOM renderer draws one div per row). */
export async function terminalRows(page) {
  return page.$$eval(".xterm-rows > div", (rows) => rows.map((row) => (row.textContent ?? "").replace(/\u00a0/g, " ").trimEnd()));
}

/** Lower case, accents removed: how the title search compares words. */
export function fold(text) {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

/** The words of a title as the search splits them (punctuation separates words). */
export function words(text) {
  return fold(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}
