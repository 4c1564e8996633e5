import "./style.css";

import { setSignedOutHandler } from "./api";
import * as auth from "./auth";
import { h, replaceChildren } from "./dom";
import { fallback, navigate, onNavigate, route, start, type RouteContext } from "./router";
import { renderHome } from "./pages/home";
import { renderMovies } from "./pages/movies";
import { renderMovie } from "./pages/movie";
import { renderLogin } from "./pages/login";
import { renderAccount as renderAccountPage } from "./pages/account";
import { renderPipelines } from "./pages/pipelines";
import { renderRun } from "./pages/run";
import { renderJobs } from "./pages/jobs";
import { renderNotFound } from "./pages/notfound";
import { adminOnly } from "./pages/guard";
import { loading } from "./ui";

route("/", "home", renderHome);
route("/movies", "movies", renderMovies);
route("/movies/:id", "movies", renderMovie);
route("/terminal", "terminal", async (ctx: RouteContext) => {
  // xterm.js is the largest part of the interface: load it only for this page.
  ctx.root.append(loading("Loading the terminal…"));
  const { renderTerminal } = await import("./pages/terminal");
  ctx.root.replaceChildren();
  return renderTerminal(ctx);
});
route("/account", "account", renderAccountPage);
route("/admin", "admin", () => navigate("/admin/pipelines", { replace: true }));
route("/admin/login", "admin", renderLogin);
route("/admin/pipelines", "admin", adminOnly(renderPipelines));
route("/admin/runs/:id", "admin", adminOnly(renderRun));
route("/admin/jobs", "admin", adminOnly(renderJobs));
fallback(renderNotFound);

// An admin call found the session gone: sign in again, then come back here.
setSignedOutHandler(() => {
  if (location.pathname === "/admin/login") return;
  const next = location.pathname + location.search;
  navigate(`/admin/login?next=${encodeURIComponent(next)}`, { replace: true });
});

function renderAccount(): void {
  const box = document.getElementById("nav-account");
  if (!box) return;
  const s = auth.session();
  if (!s) {
    replaceChildren(box, h("a", { href: "/admin/login", class: "nav-signin" }, "Sign in"));
    return;
  }
  replaceChildren(
    box,
    h("a", { href: "/account", class: "nav-user", "data-testid": "nav-user", "data-nav": "account", title: `Your account (${s.user.roles.join(", ")})` }, s.user.email),
    h(
      "button",
      {
        type: "button",
        class: "button button-small button-ghost",
        "data-testid": "sign-out",
        onclick: async () => {
          await auth.logout();
          navigate("/admin/login");
        },
      },
      "Sign out",
    ),
  );
}

onNavigate((nav) => {
  for (const link of document.querySelectorAll<HTMLAnchorElement>("[data-nav]")) {
    if (link.dataset.nav === nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
});

auth.onChange(renderAccount);
renderAccount();
start(document.getElementById("main") as HTMLElement);
