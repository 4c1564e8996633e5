// Pieces shared by the admin pages.

import { h } from "../dom";
import type { FeedStatus } from "../events";

/** The admin section's own navigation. */
export function adminTabs(active: "pipelines" | "jobs"): HTMLElement {
  const tab = (key: "pipelines" | "jobs", label: string) =>
    h("li", null, h("a", { href: `/admin/${key}`, "aria-current": key === active ? "page" : null }, label));
  return h("nav", { class: "tabs", "aria-label": "Admin" }, h("ul", null, tab("pipelines", "Pipelines"), tab("jobs", "Jobs")));
}

const LABELS: Record<FeedStatus, string> = {
  connecting: "Connecting to live updates…",
  live: "Live",
  reconnecting: "Live updates interrupted, reconnecting…",
};

/** A small indicator of the live feed's state. */
export function feedIndicator(): { el: HTMLElement; set: (status: FeedStatus) => void } {
  const el = h("p", { class: "feed", role: "status", "data-testid": "feed-status" });
  const set = (status: FeedStatus) => {
    el.dataset.status = status;
    el.textContent = LABELS[status];
  };
  set("connecting");
  return { el, set };
}
