// The signed-in session: tokens kept in sessionStorage (so they end with the
// tab), refreshed once when the server says the access token no longer works.

import { ApiError, send } from "./http";
import type { Account, TokenResponse } from "./types";

const KEY = "hangar.session";
/** Refresh this long before the access token's expiry rather than use it to the last second. */
const EXPIRY_MARGIN_MS = 30_000;

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since the epoch when the access token expires. */
  expiresAt: number;
  user: Account;
}

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();
let current: Session | null = load();
let refreshing: Promise<Session | null> | null = null;

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if (typeof s.accessToken !== "string" || typeof s.refreshToken !== "string" || !s.user) return null;
    return s;
  } catch {
    return null;
  }
}

function store(session: Session | null): void {
  current = session;
  try {
    if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage may be unavailable (private modes); the session then lasts as long as the page.
  }
  for (const listener of listeners) listener(session);
}

function fromTokens(tokens: TokenResponse): Session {
  return {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    expiresAt: Date.now() + tokens.expires_in * 1000,
    user: tokens.user,
  };
}

/** The current session, if signed in. */
export function session(): Session | null {
  return current;
}

export function isAdmin(s: Session | null = current): boolean {
  return !!s && s.user.roles.includes("admin");
}

/** Calls `listener` on every sign-in, refresh and sign-out; returns the unsubscribe function. */
export function onChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Signs in with e-mail and password; rejects with the server's ApiError. */
export async function login(email: string, password: string): Promise<Session> {
  const tokens = await send<TokenResponse>("/api/v1/auth/login", {
    method: "POST",
    body: { email, password },
  });
  const s = fromTokens(tokens);
  store(s);
  return s;
}

/**
 * Trades the refresh token for new tokens, once at a time however many callers
 * ask together (a refresh token works only once). Resolves to null, signed out,
 * when the server refuses it.
 */
export function refresh(): Promise<Session | null> {
  if (refreshing) return refreshing;
  const s = current;
  if (!s) return Promise.resolve(null);
  refreshing = (async () => {
    try {
      const tokens = await send<TokenResponse>("/api/v1/auth/refresh", {
        method: "POST",
        body: { refresh_token: s.refreshToken },
      });
      const next = fromTokens(tokens);
      store(next);
      return next;
    } catch (err) {
      // A network failure keeps the session for a later try; a refusal ends it.
      if (err instanceof ApiError && err.status !== 0 && err.status < 500 && err.status !== 429) {
        if (current === s) store(null);
        return null;
      }
      throw err;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** An access token that is not about to expire (refreshing it if needed), or null when signed out. */
export async function validAccessToken(): Promise<string | null> {
  const s = current;
  if (!s) return null;
  if (s.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return s.accessToken;
  const next = await refresh();
  return next ? next.accessToken : null;
}

/** Forgets the session here only (the server no longer accepts it). */
export function clear(): void {
  store(null);
}

/** Ends the session on the server (best effort) and here. */
export async function logout(): Promise<void> {
  if (!current) return;
  let token: string | null = null;
  try {
    // An expired access token could not end the session: renew it first.
    token = await validAccessToken();
  } catch {
    token = current?.accessToken ?? null;
  }
  store(null);
  if (!token) return;
  try {
    await send<void>("/api/v1/auth/logout", { method: "POST", token });
  } catch {
    // The tokens are gone from this tab either way.
  }
}
