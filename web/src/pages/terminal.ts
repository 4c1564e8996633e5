// The terminal page: a status line and a large xterm.js panel that refits to
// the window. xterm's default DOM renderer draws the text as DOM rows.

import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";

import * as auth from "../auth";
import { h } from "../dom";
import type { PageHandle, RouteContext } from "../router";
import { TerminalSession, type TerminalStatus } from "../terminal";
import { setTitle } from "../ui";

const STATUS_TEXT: Record<TerminalStatus, string> = {
  connecting: "Connecting…",
  connected: "Connected",
  closed: "Closed",
};

export function renderTerminal(ctx: RouteContext): PageHandle {
  setTitle("Terminal");
  const statusText = h("span", { class: "terminal-status-text" });
  const statusDetail = h("span", { class: "terminal-status-detail" });
  const reconnect = h("button", { type: "button", class: "button button-small button-secondary", hidden: true, "data-testid": "terminal-reconnect" }, "Reconnect");
  const status = h(
    "div",
    { class: "terminal-status", role: "status", "aria-live": "polite", "data-testid": "terminal-status" },
    h("span", { class: "terminal-dot", "aria-hidden": "true" }),
    statusText,
    statusDetail,
    reconnect,
  );
  const screen = h("div", { class: "terminal-screen", "data-testid": "terminal" });
  const who = auth.session();
  ctx.root.append(
    h(
      "section",
      { class: "page page-terminal" },
      h(
        "div",
        { class: "page-head" },
        h("h1", null, "Terminal"),
        h(
          "p",
          { class: "muted terminal-hint" },
          who ? `Signed in as ${who.user.email}. ` : "",
          h("kbd", null, "Tab"),
          " completes, ",
          h("kbd", null, "↑"),
          " ",
          h("kbd", null, "↓"),
          " recall earlier lines, ",
          h("kbd", null, "Ctrl+C"),
          " stops a command, ",
          h("kbd", null, "Ctrl+L"),
          " clears the screen.",
        ),
      ),
      h("div", { class: "terminal-panel" }, status, screen),
    ),
  );

  const term = new Terminal({
    cursorBlink: true,
    convertEol: false,
    fontFamily: 'ui-monospace, "SFMono-Regular", "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace',
    fontSize: 14,
    lineHeight: 1.2,
    scrollback: 5000,
    screenReaderMode: false,
    theme: {
      background: "#0f1722",
      foreground: "#d8e1ec",
      cursor: "#f5b942",
      cursorAccent: "#0f1722",
      selectionBackground: "#35506f",
      black: "#1b2430",
      red: "#f27878",
      green: "#8bd49c",
      yellow: "#f5c26b",
      blue: "#7aa7f0",
      magenta: "#d49be8",
      cyan: "#6fd1d8",
      white: "#d8e1ec",
      brightBlack: "#6b7a8f",
      brightRed: "#ff9a9a",
      brightGreen: "#a8e6b6",
      brightYellow: "#ffd88f",
      brightBlue: "#9dc0ff",
      brightMagenta: "#e5b8f5",
      brightCyan: "#94e6ec",
      brightWhite: "#ffffff",
    },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(screen);
  term.textarea?.setAttribute("aria-label", "Terminal input");

  const session = new TerminalSession({
    term,
    onStatus: (s, detail) => {
      status.dataset.state = s;
      statusText.textContent = STATUS_TEXT[s];
      statusDetail.textContent = s === "closed" ? (detail ? ` — ${detail}. Press Enter to reconnect.` : " — press Enter to reconnect.") : "";
      reconnect.hidden = s !== "closed";
    },
    // Whether a prompt waits for input: a stable hook for the browser tests.
    onInput: (ready) => {
      screen.dataset.input = ready ? "ready" : "busy";
    },
  });
  screen.dataset.input = "busy";
  reconnect.addEventListener("click", () => {
    term.write("\r\n");
    void session.connect();
    term.focus();
  });

  const refit = () => {
    if (!screen.isConnected || screen.clientWidth === 0) return;
    try {
      fit.fit();
    } catch {
      // Not measurable yet (hidden); the next resize fits it.
    }
  };
  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(refit);
  });
  observer.observe(screen);
  window.addEventListener("resize", refit);
  refit();
  term.focus();
  void session.connect();

  return {
    dispose: () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
      window.removeEventListener("resize", refit);
      session.dispose();
      term.dispose();
    },
  };
}
