// Sign-in for the admin pages: POST /api/v1/auth/login.

import * as auth from "../auth";
import { h } from "../dom";
import { navigate, type RouteContext } from "../router";
import { errorBox, setTitle } from "../ui";

/**
 * Where to go after signing in: `?next=` when it is a page of this site, else the
 * admin pages (or the profile for an account without the admin role). `next` is
 * resolved by the browser's own URL parser against this site, which drops tabs
 * and line feeds and reads `/\` as `//`: what is accepted is exactly what a
 * link to it would open, a path on this origin.
 */
export function nextPath(query: URLSearchParams, fallback = "/admin/pipelines"): string {
  const next = query.get("next");
  if (!next) return fallback;
  let target: URL;
  try {
    target = new URL(next, location.origin);
  } catch {
    return fallback;
  }
  // `/..//example.org` keeps this origin yet has the path `//example.org`,
  // which a link would open as another host: such a path is refused too.
  if (
    target.origin !== location.origin ||
    target.pathname.startsWith("//") ||
    target.pathname.startsWith("/admin/login")
  ) {
    return fallback;
  }
  return target.pathname + target.search + target.hash;
}

export function renderLogin(ctx: RouteContext): void {
  setTitle("Sign in");
  const s = auth.session();
  const section = h("section", { class: "page narrow login" });
  ctx.root.append(section);

  if (s) {
    section.append(
      h("h1", null, "Signed in"),
      h("p", { "data-testid": "signed-in-as" }, `You are signed in as ${s.user.email}.`),
      h(
        "p",
        { class: "actions" },
        auth.isAdmin(s)
          ? h("a", { class: "button", href: nextPath(ctx.query), "data-testid": "continue" }, "Continue to admin")
          : h("a", { class: "button", href: nextPath(ctx.query, "/account"), "data-testid": "continue" }, "Continue to your account"),
        h(
          "button",
          {
            type: "button",
            class: "button button-secondary",
            onclick: async () => {
              await auth.logout();
              navigate(location.pathname + location.search, { replace: true });
            },
          },
          "Sign out",
        ),
      ),
    );
    return;
  }

  const email = h("input", { id: "login-email", name: "email", type: "email", autocomplete: "username", required: true, "data-testid": "login-email" });
  const password = h("input", {
    id: "login-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
    "data-testid": "login-password",
  });
  const submit = h("button", { type: "submit", class: "button", "data-testid": "login-submit" }, "Sign in");
  const message = h("div", { "aria-live": "assertive" });

  const form = h(
    "form",
    { class: "card form", novalidate: true, "data-testid": "login-form" },
    h("div", { class: "field" }, h("label", { for: "login-email" }, "E-mail"), email),
    h("div", { class: "field" }, h("label", { for: "login-password" }, "Password"), password),
    message,
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.replaceChildren();
    if (!email.value.trim() || !password.value) {
      message.append(h("p", { class: "field-error", role: "alert" }, "Enter your e-mail address and password."));
      (email.value.trim() ? password : email).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      const signedIn = await auth.login(email.value.trim(), password.value);
      navigate(nextPath(ctx.query, auth.isAdmin(signedIn) ? "/admin/pipelines" : "/account"), { replace: true });
    } catch (err) {
      if (ctx.signal.aborted) return;
      message.append(errorBox(err));
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = "Sign in";
    }
  });

  section.append(
    h("h1", null, "Sign in"),
    h("p", { class: "muted" }, "Sign in to see your account and where you are signed in. The admin pages (pipelines, runs and jobs) need an account with the admin role."),
    form,
  );
}
