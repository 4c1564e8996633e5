// The browser terminal: xterm.js shows what the server sends over a WebSocket
// (/api/v1/terminal/ws) and the line being typed is edited here, client side.
//
// Client → server (JSON text frames):
//   {"type":"resize","cols","rows"}   after opening and on every resize
//   {"type":"run","line"}             Enter
//   {"type":"complete","line"}        Tab, with the text before the cursor
//   {"type":"cancel"}                 Ctrl+C while a command runs
// Server → client:
//   output {data}            written as is (ANSI colours, \r\n line ends)
//   clear                    the screen and scrollback are emptied
//   ready {prompt}           the previous command finished: prompt, accept input
//   completion {line, candidates}
//   error {message}          printed in red; `ready` follows
//   closed {reason}          the server ends the session

import type { Terminal } from "@xterm/xterm";

import * as auth from "./auth";

export type TerminalStatus = "connecting" | "connected" | "closed";

type ServerMessage =
  | { type: "output"; data: string }
  | { type: "clear" }
  | { type: "ready"; prompt: string }
  | { type: "completion"; line: string; candidates?: string[] }
  | { type: "error"; message: string }
  | { type: "closed"; reason?: string };

const RED = "\x1b[31m";
const YELLOW = "\x1b[33m";
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";
const HISTORY_LIMIT = 500;

/** Columns a code point takes in the terminal: 0 for combining marks, 2 for wide East Asian characters. */
function charWidth(cp: number): number {
  if (cp === 0x200b || (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x1ab0 && cp <= 0x1aff) || (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe20 && cp <= 0xfe2f)) {
    return 0;
  }
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Columns `chars` take. */
function width(chars: string[]): number {
  let w = 0;
  for (const c of chars) w += charWidth(c.codePointAt(0) ?? 0);
  return w;
}

/** `text` without ANSI escape sequences: what it shows. */
function visible(text: string): string {
  // CSI … final byte, OSC … BEL/ST, and single-character escapes.
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]/g, "");
}

/** Whether a single character may go into the line. */
function printable(c: string): boolean {
  const cp = c.codePointAt(0) ?? 0;
  return cp >= 0x20 && cp !== 0x7f && !(cp >= 0x80 && cp < 0xa0);
}

export interface TerminalSessionOptions {
  term: Terminal;
  onStatus: (status: TerminalStatus, detail?: string) => void;
  /** Told whether a prompt is waiting for input (true) or not (running, connecting, closed). */
  onInput?: (ready: boolean) => void;
}

/** One terminal page's connection and line editor. */
export class TerminalSession {
  private readonly term: Terminal;
  private readonly onStatus: TerminalSessionOptions["onStatus"];
  private readonly onInput: NonNullable<TerminalSessionOptions["onInput"]>;
  private socket: WebSocket | null = null;
  private status: TerminalStatus = "closed";
  private disposed = false;

  /** The prompt of the last `ready` (its last line, which is redrawn with the input). */
  private prompt = "";
  private input: string[] = [];
  private cursor = 0;
  /** Input is taken only after `ready`: false while a command runs or before the first prompt. */
  private acceptingInput = false;
  /** A `run` was sent and its `ready` has not come. */
  private running = false;
  /** The row (from the prompt's row) the terminal cursor was left on by the last redraw. */
  private cursorRow = 0;
  /** What Ctrl+L kept aside, to put back after the screen is cleared. */
  private stash: { input: string[]; cursor: number } | null = null;
  /** Bumped on every edit; a completion answers only the edit it was asked for. */
  private edits = 0;
  private completionFor: number | null = null;

  private readonly history: string[] = [];
  private historyIndex = 0;
  private draft: string[] = [];

  constructor(options: TerminalSessionOptions) {
    this.term = options.term;
    this.onStatus = options.onStatus;
    this.onInput = options.onInput ?? (() => {});
    this.term.onData((data) => this.onData(data));
    this.term.onResize(({ cols, rows }) => {
      this.send({ type: "resize", cols, rows });
      if (this.accepting) {
        // xterm reflowed the wrapped input line: find the cursor again and redraw.
        const promptWidth = width([...visible(this.prompt)]);
        this.cursorRow = Math.floor((promptWidth + width(this.input.slice(0, this.cursor))) / Math.max(1, cols));
        this.redraw();
      }
    });
  }

  private get accepting(): boolean {
    return this.acceptingInput;
  }

  private set accepting(value: boolean) {
    if (value !== this.acceptingInput) {
      this.acceptingInput = value;
      this.onInput(value);
    }
  }

  /** Opens the WebSocket (again). */
  async connect(): Promise<void> {
    if (this.disposed) return;
    this.setStatus("connecting");
    this.accepting = false;
    this.running = false;
    let token: string | null = null;
    try {
      token = await auth.validAccessToken();
    } catch {
      token = auth.session()?.accessToken ?? null;
    }
    if (this.disposed) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let url = `${scheme}//${location.host}/api/v1/terminal/ws`;
    if (token) url += `?access_token=${encodeURIComponent(token)}`;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch (err) {
      this.onClosed(err instanceof Error ? err.message : "the connection could not be opened");
      return;
    }
    this.socket = socket;
    let closedReason: string | undefined;
    let opened = false;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.setStatus("connected");
      this.send({ type: "resize", cols: this.term.cols, rows: this.term.rows });
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket || typeof event.data !== "string") return;
      let message: ServerMessage;
      try {
        message = JSON.parse(event.data) as ServerMessage;
      } catch {
        return;
      }
      if (message.type === "closed") closedReason = message.reason;
      this.handle(message);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      const why = opened ? (event.code === 1000 || event.code === 1001 ? undefined : "the connection was lost") : "could not connect to the server";
      this.onClosed(closedReason ?? (event.reason || why));
    };
  }

  /** Closes the connection for good (the page is left). */
  dispose(): void {
    this.disposed = true;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "page closed");
  }

  private setStatus(status: TerminalStatus, detail?: string): void {
    this.status = status;
    this.onStatus(status, detail);
  }

  private send(message: Record<string, unknown>): void {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private onClosed(reason?: string): void {
    if (this.disposed) return;
    const wasAccepting = this.accepting;
    this.accepting = false;
    this.running = false;
    this.setStatus("closed", reason);
    if (wasAccepting) this.moveToEnd();
    this.atLineStart(() => this.term.write(`${DIM}Connection closed. Press Enter to reconnect.${RESET}\r\n`));
  }

  /** Runs `then` once everything written so far is on screen, after starting a new line if the cursor is not at the start of one. */
  private atLineStart(then: () => void): void {
    this.term.write("", () => {
      if (this.term.buffer.active.cursorX !== 0) this.term.write("\r\n");
      then();
    });
  }

  private handle(message: ServerMessage): void {
    switch (message.type) {
      case "output":
        if (typeof message.data !== "string") return;
        if (this.accepting) {
          // Output between commands: put it above the line being typed.
          this.clearLine();
          this.term.write(message.data);
          this.atLineStart(() => this.drawFresh());
        } else {
          this.term.write(message.data);
        }
        return;
      case "clear":
        this.term.write("\x1b[H\x1b[2J\x1b[3J");
        this.cursorRow = 0;
        return;
      case "ready": {
        const prompt = typeof message.prompt === "string" ? message.prompt : "";
        // A prompt of several lines: all but its last are printed once.
        const cut = prompt.lastIndexOf("\n");
        const head = cut >= 0 ? prompt.slice(0, cut + 1) : "";
        this.prompt = cut >= 0 ? prompt.slice(cut + 1) : prompt;
        if (this.accepting) this.clearLine();
        this.running = false;
        this.accepting = false;
        if (this.stash) {
          this.input = this.stash.input;
          this.cursor = this.stash.cursor;
          this.stash = null;
        }
        this.atLineStart(() => {
          if (head) this.term.write(head.replace(/\r?\n/g, "\r\n"));
          // Keys are taken from the moment the prompt is on screen.
          this.accepting = true;
          this.drawFresh();
        });
        return;
      }
      case "completion": {
        if (!this.accepting || this.completionFor !== this.edits || typeof message.line !== "string") return;
        this.completionFor = null;
        const rest = this.input.slice(this.cursor);
        this.input = [...message.line, ...rest];
        this.cursor = [...message.line].length;
        this.edits++;
        const candidates = Array.isArray(message.candidates) ? message.candidates.filter((c) => typeof c === "string") : [];
        if (candidates.length >= 2) {
          this.moveToEnd();
          this.term.write(`\r\n${candidates.join("  ")}\r\n`);
          this.drawFresh();
        } else {
          this.redraw();
        }
        return;
      }
      case "error": {
        const text = typeof message.message === "string" ? message.message : "error";
        if (this.accepting) this.moveToEnd();
        // Input waits for the `ready` that follows.
        this.accepting = false;
        this.atLineStart(() => this.term.write(`${RED}${text.replace(/\r?\n/g, "\r\n")}${RESET}\r\n`));
        return;
      }
      case "closed": {
        if (this.accepting) this.moveToEnd();
        this.accepting = false;
        const reason = typeof message.reason === "string" && message.reason ? message.reason : "The server ended the session.";
        this.atLineStart(() => this.term.write(`${YELLOW}${reason.replace(/\r?\n/g, "\r\n")}${RESET}\r\n`));
        return;
      }
    }
  }

  // ---- drawing ---------------------------------------------------------

  private promptWidth(): number {
    return width([...visible(this.prompt)]);
  }

  /** Erases the prompt and input from the screen, leaving the cursor at the prompt's start. */
  private clearLine(): void {
    let seq = "";
    if (this.cursorRow > 0) seq += `\x1b[${this.cursorRow}A`;
    seq += "\r\x1b[J";
    this.term.write(seq);
    this.cursorRow = 0;
  }

  /** Draws the prompt and input on the current line, which is assumed empty. */
  private drawFresh(): void {
    this.cursorRow = 0;
    this.draw();
  }

  /** Draws the prompt and input again in place. */
  private redraw(): void {
    this.clearLine();
    this.draw();
  }

  private draw(): void {
    const cols = Math.max(1, this.term.cols);
    const promptWidth = this.promptWidth();
    const total = promptWidth + width(this.input);
    let seq = this.prompt + this.input.join("");
    // At exactly the last column the cursor waits to wrap; make it wrap now so the arithmetic holds.
    if (total > 0 && total % cols === 0) seq += "\r\n";
    const endRow = Math.floor(total / cols);
    const target = promptWidth + width(this.input.slice(0, this.cursor));
    const targetRow = Math.floor(target / cols);
    const targetCol = target % cols;
    if (endRow > targetRow) seq += `\x1b[${endRow - targetRow}A`;
    seq += "\r";
    if (targetCol > 0) seq += `\x1b[${targetCol}C`;
    this.term.write(seq);
    this.cursorRow = targetRow;
  }

  /** Moves the terminal cursor past the end of the input (before printing below it). */
  private moveToEnd(): void {
    this.cursor = this.input.length;
    this.redraw();
  }

  // ---- input -----------------------------------------------------------

  private onData(data: string): void {
    if (this.status === "closed") {
      if (data.includes("\r") || data.includes("\n")) {
        this.term.write("\r\n");
        void this.connect();
      }
      return;
    }
    if (data === "\x03") {
      this.interrupt();
      return;
    }
    if (!this.accepting) return;
    if (data.startsWith("\x1b")) {
      this.escape(data);
      return;
    }
    const chars = [...data.replace(/\x1b\[20[01]~/g, "")];
    if (chars.length === 1) {
      this.key(chars[0]);
      return;
    }
    // A paste (or text from an input method): printable characters go in; a line
    // break runs what came before it and the rest is dropped.
    for (const c of chars) {
      if (c === "\r" || c === "\n") {
        this.enter();
        return;
      }
      if (printable(c)) this.insert([c], false);
    }
    this.redraw();
  }

  private key(c: string): void {
    switch (c) {
      case "\r":
      case "\n":
        this.enter();
        return;
      case "\x7f":
      case "\b":
        this.backspace();
        return;
      case "\t":
        this.complete();
        return;
      case "\x01":
        this.moveTo(0);
        return;
      case "\x05":
        this.moveTo(this.input.length);
        return;
      case "\x0c":
        this.clearScreen();
        return;
      default:
        if (printable(c)) this.insert([c], true);
    }
  }

  private escape(seq: string): void {
    switch (seq) {
      case "\x1b[A":
      case "\x1bOA":
        this.historyStep(-1);
        return;
      case "\x1b[B":
      case "\x1bOB":
        this.historyStep(1);
        return;
      case "\x1b[C":
      case "\x1bOC":
        this.moveTo(this.cursor + 1);
        return;
      case "\x1b[D":
      case "\x1bOD":
        this.moveTo(this.cursor - 1);
        return;
      case "\x1b[H":
      case "\x1bOH":
      case "\x1b[1~":
      case "\x1b[7~":
        this.moveTo(0);
        return;
      case "\x1b[F":
      case "\x1bOF":
      case "\x1b[4~":
      case "\x1b[8~":
        this.moveTo(this.input.length);
        return;
      case "\x1b[3~":
        this.deleteForward();
        return;
      default:
        // Bracketed paste arrives wrapped in \x1b[200~ … \x1b[201~.
        if (seq.startsWith("\x1b[200~")) this.onData(seq.replace(/\x1b\[20[01]~/g, ""));
    }
  }

  private edited(): void {
    this.edits++;
    this.historyIndex = this.history.length;
  }

  private insert(chars: string[], draw: boolean): void {
    this.input.splice(this.cursor, 0, ...chars);
    this.cursor += chars.length;
    this.edited();
    if (draw) this.redraw();
  }

  private backspace(): void {
    if (this.cursor === 0) return;
    this.input.splice(this.cursor - 1, 1);
    this.cursor--;
    this.edited();
    this.redraw();
  }

  private deleteForward(): void {
    if (this.cursor >= this.input.length) return;
    this.input.splice(this.cursor, 1);
    this.edited();
    this.redraw();
  }

  private moveTo(position: number): void {
    const p = Math.max(0, Math.min(this.input.length, position));
    if (p === this.cursor) return;
    this.cursor = p;
    this.redraw();
  }

  private historyStep(step: number): void {
    if (this.history.length === 0) return;
    const next = Math.max(0, Math.min(this.history.length, this.historyIndex + step));
    if (next === this.historyIndex) return;
    if (this.historyIndex === this.history.length) this.draft = this.input;
    this.historyIndex = next;
    this.input = next === this.history.length ? this.draft : [...this.history[next]];
    this.cursor = this.input.length;
    this.edits++;
    this.redraw();
  }

  private enter(): void {
    const line = this.input.join("");
    this.moveToEnd();
    this.term.write("\r\n");
    this.cursorRow = 0;
    if (line.trim() !== "" && this.history[this.history.length - 1] !== line) {
      this.history.push(line);
      if (this.history.length > HISTORY_LIMIT) this.history.shift();
    }
    this.historyIndex = this.history.length;
    this.draft = [];
    this.input = [];
    this.cursor = 0;
    this.edits++;
    this.accepting = false;
    this.running = true;
    this.send({ type: "run", line });
  }

  private complete(): void {
    this.completionFor = this.edits;
    this.send({ type: "complete", line: this.input.slice(0, this.cursor).join("") });
  }

  private interrupt(): void {
    if (this.running) {
      this.send({ type: "cancel" });
      return;
    }
    if (!this.accepting) return;
    this.moveToEnd();
    this.term.write("^C\r\n");
    this.input = [];
    this.cursor = 0;
    this.draft = [];
    this.historyIndex = this.history.length;
    this.edits++;
    this.drawFresh();
  }

  private clearScreen(): void {
    this.stash = { input: this.input, cursor: this.cursor };
    this.input = [];
    this.cursor = 0;
    this.edits++;
    this.accepting = false;
    this.running = true;
    this.send({ type: "run", line: "clear" });
  }
}
