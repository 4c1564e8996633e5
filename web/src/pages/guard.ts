// Admin pages need a signed-in account with the admin role.

import * as auth from "../auth";
import { h } from "../dom";
import { navigate, type Render } from "../router";
import { setTitle } from "../ui";

/** Wraps an admin page: signed-out readers go to the sign-in page, non-admins get an explanation. */
export function adminOnly(render: Render): Render {
  return (ctx) => {
    const s = auth.session();
    if (!s) {
      const next = location.pathname + location.search;
      navigate(`/admin/login?next=${encodeURIComponent(next)}`, { replace: true });
      return;
    }
    if (!auth.isAdmin(s)) {
      setTitle("Admin");
      ctx.root.append(
        h(
          "section",
          { class: "page narrow" },
          h("h1", null, "Admin"),
          h(
            "div",
            { class: "alert alert-warn", role: "alert", "data-testid": "not-admin" },
            h("p", { class: "alert-title" }, "This page needs the admin role"),
            h(
              "p",
              null,
              `You are signed in as ${s.user.email}, whose roles are: ${s.user.roles.join(", ") || "none"}. `,
              "Sign in with an admin account to manage pipelines and jobs, or see ",
              h("a", { href: "/account" }, "your account"),
              ".",
            ),
            h(
              "button",
              {
                type: "button",
                class: "button button-secondary",
                onclick: async () => {
                  await auth.logout();
                  navigate(`/admin/login?next=${encodeURIComponent(location.pathname + location.search)}`);
                },
              },
              "Sign in with another account",
            ),
          ),
        ),
      );
      return;
    }
    return render(ctx);
  };
}
