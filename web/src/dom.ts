// Small helpers for building DOM nodes. Text always goes in as text nodes, never
// as HTML, so nothing the API returns can inject markup.

type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined;

export interface Props {
  [name: string]: AttrValue | EventListener | undefined;
}

/**
 * Creates an element. Props starting with `on` are event listeners
 * (`onclick`); `true` sets a boolean attribute, `false`/`null`/`undefined`
 * leaves it out; everything else is set as an attribute.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    for (const [name, value] of Object.entries(props)) {
      if (typeof value === "function") {
        el.addEventListener(name.slice(2).toLowerCase(), value);
      } else if (value === true) {
        el.setAttribute(name, "");
      } else if (value !== false && value !== null && value !== undefined) {
        el.setAttribute(name, String(value));
      }
    }
  }
  append(el, ...children);
  return el;
}

/** Appends children, skipping empty ones; strings become text nodes. */
export function append(parent: Node, ...children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function replaceChildren(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** A visually hidden label text for screen readers. */
export function srOnly(text: string): HTMLSpanElement {
  return h("span", { class: "sr-only" }, text);
}

/** Calls `fn` once `ms` have passed without another call. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number) {
  let timer: number | undefined;
  const debounced = (...args: A) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => fn(...args), ms);
  };
  debounced.cancel = () => window.clearTimeout(timer);
  return debounced;
}
