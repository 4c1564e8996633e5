// Client-side routing over the History API. Links are ordinary <a href>s; a
// click on a same-origin link outside /api/ is handled here instead of loading
// a new document. The server answers index.html for every such path, so a
// reload or a shared link lands on the same page.

export interface RouteContext {
  /** The element the page renders into (emptied before each render). */
  root: HTMLElement;
  /** Path parameters, e.g. `{ id: "42" }` for `/movies/:id`. */
  params: Record<string, string>;
  /** The query string of the current location. */
  query: URLSearchParams;
  /** Aborted when the page is left: for fetches and timers the page started. */
  signal: AbortSignal;
}

/** What a rendered page hands back to the router. */
export interface PageHandle {
  /** Called when the page is left: close sockets, streams, timers. */
  dispose?: () => void;
  /**
   * Called instead of a fresh render when only the query string or history
   * state changed (back/forward, or the page's own navigation).
   */
  update?: (query: URLSearchParams) => void;
}

export type Render = (ctx: RouteContext) => PageHandle | void | Promise<PageHandle | void>;

interface Route {
  pattern: RegExp;
  keys: string[];
  render: Render;
  nav: string;
}

const routes: Route[] = [];
let notFound: Render | null = null;
let root: HTMLElement;
let active: { route: Route | null; path: string; handle: PageHandle | void; controller: AbortController } | null = null;
let renderToken = 0;
const navListeners = new Set<(nav: string) => void>();

/** Adds a route; `path` may contain `:name` segments. `nav` names the top-navigation entry it belongs to. */
export function route(path: string, nav: string, render: Render): void {
  const keys: string[] = [];
  const source = path
    .split("/")
    .map((part) => {
      if (part.startsWith(":")) {
        keys.push(part.slice(1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  routes.push({ pattern: new RegExp(`^${source}/?$`), keys, render, nav });
}

/** The page for paths no route matches. */
export function fallback(render: Render): void {
  notFound = render;
}

/** Calls `listener` with the active navigation entry after every navigation. */
export function onNavigate(listener: (nav: string) => void): void {
  navListeners.add(listener);
}

/**
 * Goes to `url` (a same-origin path with optional query). `replace` rewrites
 * the current history entry instead of adding one; `state` is stored with it.
 */
export function navigate(url: string, options: { replace?: boolean; state?: unknown } = {}): void {
  const target = new URL(url, location.href);
  const href = target.pathname + target.search + target.hash;
  if (options.replace) history.replaceState(options.state ?? null, "", href);
  else history.pushState(options.state ?? null, "", href);
  void dispatch(!options.replace);
}

/** Whether a click on `anchor` should be left to the browser. */
function leaveToBrowser(event: MouseEvent, anchor: HTMLAnchorElement): boolean {
  if (event.defaultPrevented || event.button !== 0) return true;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return true;
  if (anchor.hasAttribute("download") || (anchor.target && anchor.target !== "_self")) return true;
  if (anchor.origin !== location.origin) return true;
  return anchor.pathname.startsWith("/api/") || anchor.pathname === "/api";
}

/** Starts routing: renders the current location and handles link clicks and back/forward. */
export function start(container: HTMLElement): void {
  root = container;
  document.addEventListener("click", (event) => {
    const anchor = (event.target as Element | null)?.closest?.("a[href]");
    if (!(anchor instanceof HTMLAnchorElement) || leaveToBrowser(event, anchor)) return;
    event.preventDefault();
    if (anchor.pathname + anchor.search === location.pathname + location.search && !anchor.hash) {
      // The same page again: a fresh render (what a reload would show), without a new history entry.
      void dispatch(true, true);
      return;
    }
    navigate(anchor.pathname + anchor.search + anchor.hash);
  });
  window.addEventListener("popstate", () => void dispatch(false));
  void dispatch(false);
}

function match(path: string): { route: Route; params: Record<string, string> } | null {
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.keys.forEach((key, i) => {
      params[key] = decodeURIComponent(m[i + 1]);
    });
    return { route: r, params };
  }
  return null;
}

async function dispatch(userNavigation: boolean, forceRender = false): Promise<void> {
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  const found = match(path);
  const nav = found?.route.nav ?? "";
  for (const listener of navListeners) listener(nav);

  // Only the query changed on a page that follows its own query: let it update itself.
  if (!forceRender && active && active.route && found && active.route === found.route && active.path === path) {
    const handle = active.handle;
    if (handle && handle.update) {
      handle.update(query);
      return;
    }
  }

  if (active) {
    active.controller.abort();
    try {
      active.handle?.dispose?.();
    } catch (err) {
      console.error("page cleanup failed", err);
    }
  }
  const controller = new AbortController();
  const token = ++renderToken;
  active = { route: found?.route ?? null, path, handle: undefined, controller };
  root.replaceChildren();
  root.removeAttribute("aria-busy");
  if (userNavigation) window.scrollTo(0, 0);
  const render = found?.route.render ?? notFound;
  if (!render) return;
  try {
    const handle = await render({ root, params: found?.params ?? {}, query, signal: controller.signal });
    if (token !== renderToken) {
      // Left while it rendered.
      handle?.dispose?.();
      return;
    }
    active.handle = handle;
  } catch (err) {
    if (token !== renderToken) return;
    console.error("page failed to render", err);
    const p = document.createElement("p");
    p.className = "alert alert-error";
    p.textContent = "This page failed to load. Reload to try again.";
    root.replaceChildren(p);
  }
  if (userNavigation && token === renderToken) {
    // Move focus to the new page's heading for keyboard and screen-reader users.
    const heading = root.querySelector<HTMLElement>("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }
}
