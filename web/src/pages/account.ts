// The signed-in user's own page: e-mail and roles, the account's sign-in
// sessions (GET /api/v1/auth/sessions) with a way to sign out of any one of
// them or of all but this one, and sign-out.

import { api } from "../api";
import * as auth from "../auth";
import { h } from "../dom";
import { navigate, type RouteContext } from "../router";
import type { SessionView } from "../types";
import { errorBox, formatTime, loading, setTitle } from "../ui";

/** How a session was started, in words. */
function methodLabel(method: string): string {
  if (method === "password") return "E-mail and password";
  if (method.startsWith("oidc:")) return `Single sign-on (${method.slice(5)})`;
  return method;
}

export function renderAccount(ctx: RouteContext): void {
  setTitle("Your account");
  const s = auth.session();
  if (!s) {
    navigate(`/admin/login?next=${encodeURIComponent(location.pathname)}`, { replace: true });
    return;
  }
  const user = s.user;
  const notice = h("div", { "aria-live": "polite" });
  const list = h("div", { class: "sessions" });
  const others = h(
    "button",
    { type: "button", class: "button button-secondary", "data-testid": "revoke-others", disabled: true },
    "Sign out everywhere else",
  );

  const fact = (label: string, value: Node | string, testId: string) => [
    h("dt", null, label),
    h("dd", { "data-testid": testId }, value),
  ];

  ctx.root.append(
    h(
      "section",
      { class: "page narrow account" },
      h("h1", null, "Your account"),
      h(
        "dl",
        { class: "facts facts-compact" },
        fact("E-mail", user.email, "account-email"),
        user.name ? fact("Name", user.name, "account-name") : null,
        fact("Roles", user.roles.length > 0 ? user.roles.join(", ") : "none", "account-roles"),
        fact("Member since", formatTime(user.created_at), "account-created"),
      ),
      auth.isAdmin(s)
        ? h("p", { class: "account-admin" }, "Your account has the admin role: ", h("a", { href: "/admin/pipelines" }, "go to the admin pages"), ".")
        : null,
      h(
        "section",
        { class: "account-sessions", "aria-labelledby": "sessions-title" },
        h("h2", { id: "sessions-title" }, "Where you are signed in"),
        h(
          "p",
          { class: "muted" },
          "Each sign-in is a session. Sign out of one you do not recognise, or of all but this browser after using a shared computer.",
        ),
        notice,
        list,
        h(
          "p",
          { class: "actions" },
          others,
          h(
            "button",
            {
              type: "button",
              class: "button button-ghost",
              "data-testid": "account-sign-out",
              onclick: async () => {
                await auth.logout();
                navigate("/admin/login");
              },
            },
            "Sign out",
          ),
        ),
      ),
    ),
  );

  function item(session: SessionView): HTMLElement {
    const signOut = h(
      "button",
      {
        type: "button",
        class: "button button-small button-danger-ghost",
        "data-testid": `revoke-${session.id}`,
        onclick: async () => {
          signOut.disabled = true;
          if (session.current) {
            await auth.logout();
            navigate("/admin/login");
            return;
          }
          notice.replaceChildren();
          try {
            await api.revokeSession(session.id);
          } catch (err) {
            notice.replaceChildren(errorBox(err));
          }
          await load();
        },
      },
      session.current ? "Sign out" : "Sign out of this session",
    );
    return h(
      "li",
      { class: "card session", "data-testid": "session", "data-id": session.id, "data-current": session.current ? "true" : "false" },
      h(
        "p",
        { class: "session-title" },
        h("strong", null, methodLabel(session.method)),
        session.current ? h("span", { class: "badge", "data-tone": "ok", "data-testid": "session-current" }, "this browser") : null,
      ),
      h(
        "dl",
        { class: "session-times" },
        h("dt", null, "Signed in"),
        h("dd", null, formatTime(session.created_at)),
        h("dt", null, "Last used"),
        h("dd", null, formatTime(session.last_used_at)),
      ),
      signOut,
    );
  }

  async function load(): Promise<void> {
    list.setAttribute("aria-busy", "true");
    if (!list.firstChild) list.replaceChildren(loading("Loading your sessions…"));
    try {
      const { sessions } = await api.sessions();
      if (ctx.signal.aborted) return;
      list.replaceChildren(h("ul", { class: "session-list", "data-testid": "sessions" }, sessions.map(item)));
      others.disabled = !sessions.some((x) => !x.current);
    } catch (err) {
      if (ctx.signal.aborted) return;
      list.replaceChildren(errorBox(err, () => void load()));
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  others.addEventListener("click", async () => {
    others.disabled = true;
    notice.replaceChildren();
    try {
      const { revoked } = await api.revokeOtherSessions();
      notice.replaceChildren(
        h("p", { class: "alert alert-ok", role: "status", "data-testid": "revoked-others" }, `Signed out of ${revoked} other ${revoked === 1 ? "session" : "sessions"}.`),
      );
    } catch (err) {
      notice.replaceChildren(errorBox(err));
    }
    await load();
  });

  void load();
}
