// The API client the pages use: public calls as they are, admin calls with the
// session's bearer token, renewed once on a 401.

import * as auth from "./auth";
import { ApiError, send, type RequestOptions } from "./http";
import type {
  JobList,
  JobView,
  LogPage,
  Movie,
  MoviePage,
  MovieStats,
  PipelineList,
  RunList,
  RunView,
  SessionList,
  Revoked,
  Site,
} from "./types";

export { ApiError } from "./http";

let onSignedOut: (() => void) | null = null;

/** What to do when an authenticated call finds the session gone (go to the sign-in page). */
export function setSignedOutHandler(handler: () => void): void {
  onSignedOut = handler;
}

/** A request with the session's access token; on a 401 the token is refreshed and the request tried once more. */
async function authed<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const token = await auth.validAccessToken();
  if (!token) {
    onSignedOut?.();
    throw new ApiError({
      type: "urn:hangar:problem:unauthorized",
      title: "Sign-in required",
      status: 401,
      detail: "Sign in to continue.",
    });
  }
  try {
    return await send<T>(path, { ...options, token });
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    const renewed = await auth.refresh().catch(() => null);
    if (!renewed) {
      onSignedOut?.();
      throw err;
    }
    try {
      return await send<T>(path, { ...options, token: renewed.accessToken });
    } catch (again) {
      if (again instanceof ApiError && again.status === 401) {
        auth.clear();
        onSignedOut?.();
      }
      throw again;
    }
  }
}

export interface MovieQuery {
  q?: string;
  genre?: string;
  distributor?: string;
  year_min?: string;
  year_max?: string;
  rating_min?: string;
  rating_max?: string;
  sort?: string;
  limit?: number;
  cursor?: string;
}

const enc = encodeURIComponent;

/** Every item of a list, following `next_cursor` from page to page. */
async function allPages<T>(page: (cursor?: string) => Promise<{ items: T[]; next_cursor?: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const got = await page(cursor);
    items.push(...got.items);
    cursor = got.next_cursor ?? undefined;
  } while (cursor);
  return items;
}

export const api = {
  site: (signal?: AbortSignal) => send<Site>("/api/v1/site", { signal }),

  movies: (query: MovieQuery, signal?: AbortSignal) =>
    send<MoviePage>("/api/v1/movies", { query: { ...query }, signal }),
  movie: (id: string, signal?: AbortSignal) => send<Movie>(`/api/v1/movies/${enc(id)}`, { signal }),
  movieStats: (signal?: AbortSignal) => send<MovieStats>("/api/v1/movies/stats", { signal }),

  /** Every pipeline, by name. */
  pipelines: () => allPages((cursor) => authed<PipelineList>("/api/v1/pipelines", { query: { cursor } })),
  pipelineRuns: (name: string, limit = 10) =>
    authed<RunList>(`/api/v1/pipelines/${enc(name)}/runs`, { query: { limit } }),
  triggerRun: (name: string, params: Record<string, unknown>) =>
    authed<RunView>(`/api/v1/pipelines/${enc(name)}/runs`, { method: "POST", body: { params } }),
  run: (id: string) => authed<RunView>(`/api/v1/runs/${enc(id)}`),
  /** Every log line of a run's task, oldest first. */
  runLogs: (id: string, task: string) =>
    allPages((cursor) => authed<LogPage>(`/api/v1/runs/${enc(id)}/logs`, { query: { task, cursor } })),
  cancelRun: (id: string) => authed<RunView>(`/api/v1/runs/${enc(id)}/cancel`, { method: "POST" }),

  jobs: (query: { state?: JobView["state"]; queue?: string; limit?: number; cursor?: string }) =>
    authed<JobList>("/api/v1/jobs", { query: { ...query } }),
  retryJob: (id: string) => authed<JobView>(`/api/v1/jobs/${enc(id)}/retry`, { method: "POST" }),
  cancelJob: (id: string) => authed<JobView>(`/api/v1/jobs/${enc(id)}/cancel`, { method: "POST" }),

  sessions: () => authed<SessionList>("/api/v1/auth/sessions"),
  revokeSession: (id: string) => authed<void>(`/api/v1/auth/sessions/${enc(id)}`, { method: "DELETE" }),
  revokeOtherSessions: () => authed<Revoked>("/api/v1/auth/sessions/revoke-others", { method: "POST" }),
};
