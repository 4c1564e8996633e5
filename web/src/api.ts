// The API client the pages use: public calls as they are, admin calls with the
// session's bearer token, renewed once on a 401.

import * as auth from "./auth";
import { ApiError, send, type RequestOptions } from "./http";
import type {
  JobPage,
  JobView,
  LogRow,
  Movie,
  MovieStats,
  Page,
  PipelineSpec,
  RunView,
  SessionView,
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

export const api = {
  site: (signal?: AbortSignal) => send<Site>("/api/v1/site", { signal }),

  movies: (query: MovieQuery, signal?: AbortSignal) =>
    send<Page<Movie>>("/api/v1/movies", { query: { ...query }, signal }),
  movie: (id: string, signal?: AbortSignal) => send<Movie>(`/api/v1/movies/${enc(id)}`, { signal }),
  movieStats: (signal?: AbortSignal) => send<MovieStats>("/api/v1/movies/stats", { signal }),

  pipelines: () => authed<PipelineSpec[]>("/api/v1/pipelines"),
  pipelineRuns: (name: string, limit = 10) =>
    authed<RunView[]>(`/api/v1/pipelines/${enc(name)}/runs`, { query: { limit } }),
  triggerRun: (name: string, params: Record<string, unknown>) =>
    authed<RunView>(`/api/v1/pipelines/${enc(name)}/runs`, { method: "POST", body: { params } }),
  run: (id: string) => authed<RunView>(`/api/v1/runs/${enc(id)}`),
  runLogs: (id: string, task: string) => authed<LogRow[]>(`/api/v1/runs/${enc(id)}/logs`, { query: { task } }),
  cancelRun: (id: string) => authed<RunView>(`/api/v1/runs/${enc(id)}/cancel`, { method: "POST" }),

  jobs: (query: { state?: string; queue?: string; limit?: number; before?: string }) =>
    authed<JobPage>("/api/v1/jobs", { query: { ...query } }),
  retryJob: (id: string) => authed<JobView>(`/api/v1/jobs/${enc(id)}/retry`, { method: "POST" }),
  cancelJob: (id: string) => authed<JobView>(`/api/v1/jobs/${enc(id)}/cancel`, { method: "POST" }),

  sessions: () => authed<{ sessions: SessionView[] }>("/api/v1/auth/sessions"),
  revokeSession: (id: string) => authed<void>(`/api/v1/auth/sessions/${enc(id)}`, { method: "DELETE" }),
  revokeOtherSessions: () => authed<{ revoked: number }>("/api/v1/auth/sessions/revoke-others", { method: "POST" }),
};
