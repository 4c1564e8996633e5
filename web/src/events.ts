// The realtime feed over Server-Sent Events (GET /api/v1/events). Browsers'
// EventSource cannot send headers, so the access token goes in the query. When
// the stream ends for good (an expired token, a restarted server) it is opened
// again with a fresh token, resuming after the last event seen.

import * as auth from "./auth";

export type FeedStatus = "connecting" | "live" | "reconnecting";

export interface FeedHandlers {
  /** Event kinds to listen for (`run.state`, `task.state`, `job.state`). */
  kinds: string[];
  onEvent: (kind: string, data: Record<string, unknown>) => void;
  /** The client fell too far behind and events were skipped: reload what is shown. */
  onReset?: () => void;
  onStatus?: (status: FeedStatus) => void;
  /** The stream is open: events from now on will arrive (fetch the current state after this). */
  onOpen?: () => void;
}

/** Subscribes to `topics`; returns the function that closes the stream. */
export function subscribe(topics: string[], handlers: FeedHandlers): () => void {
  let source: EventSource | null = null;
  let closed = false;
  let lastId: string | null = null;
  let retryTimer: number | undefined;
  let delay = 1000;

  const status = (s: FeedStatus) => handlers.onStatus?.(s);

  async function connect(): Promise<void> {
    if (closed) return;
    status(source ? "reconnecting" : "connecting");
    let token: string | null = null;
    try {
      token = await auth.validAccessToken();
    } catch {
      token = auth.session()?.accessToken ?? null;
    }
    if (closed) return;
    if (!token) {
      // Signed out meanwhile; the page's next API call sends the reader to sign in.
      status("reconnecting");
      return;
    }
    const params = new URLSearchParams({ topics: topics.join(","), access_token: token });
    if (lastId !== null) params.set("last_event_id", lastId);
    const es = new EventSource(`/api/v1/events?${params}`);
    source = es;
    es.onopen = () => {
      delay = 1000;
      status("live");
      handlers.onOpen?.();
    };
    const listen = (kind: string) =>
      es.addEventListener(kind, (event) => {
        const message = event as MessageEvent<string>;
        if (message.lastEventId) lastId = message.lastEventId;
        if (kind === "reset") {
          handlers.onReset?.();
          return;
        }
        let data: unknown;
        try {
          data = JSON.parse(message.data);
        } catch {
          return;
        }
        if (data && typeof data === "object") handlers.onEvent(kind, data as Record<string, unknown>);
      });
    for (const kind of handlers.kinds) listen(kind);
    listen("reset");
    es.onerror = () => {
      if (closed) return;
      if (es.readyState === EventSource.CONNECTING) {
        // The browser reconnects by itself (sending Last-Event-ID).
        status("reconnecting");
        return;
      }
      // Closed for good (a non-200 answer such as an expired token): open a new one.
      es.close();
      status("reconnecting");
      window.clearTimeout(retryTimer);
      retryTimer = window.setTimeout(() => void connect(), delay);
      delay = Math.min(delay * 2, 30_000);
    };
  }

  void connect();
  return () => {
    closed = true;
    window.clearTimeout(retryTimer);
    source?.close();
  };
}
