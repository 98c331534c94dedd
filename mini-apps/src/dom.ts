// Small DOM helpers: elements built from data (texts always as text, never as HTML).

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) element.setAttribute(name, "");
    else if (typeof value === "string") element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child) element.append(child);
  }
  return element;
}

export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

/** "2026-12-31" as a Russian reads it: "31.12.2026". */
export function day(iso: string | null | undefined): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso ?? "");
  return match ? `${match[3]}.${match[2]}.${match[1]}` : "";
}

/** A notice under a form or at the top: `kind` colours it; empty text hides it. */
export function notice(target: HTMLElement, text: string, kind: "ok" | "error" = "ok"): void {
  target.textContent = text;
  target.dataset.kind = kind;
  target.hidden = !text;
}
