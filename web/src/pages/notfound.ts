import { h } from "../dom";
import type { RouteContext } from "../router";
import { setTitle } from "../ui";

export function renderNotFound(ctx: RouteContext): void {
  setTitle("Not found");
  ctx.root.append(
    h(
      "section",
      { class: "page narrow", "data-testid": "not-found" },
      h("h1", null, "Page not found"),
      h("p", null, "There is no page at ", h("code", null, location.pathname), "."),
      h("p", null, h("a", { href: "/" }, "Go to the home page")),
    ),
  );
}
