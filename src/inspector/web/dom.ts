/**
 * The page's tiny DOM layer: `h()` builds elements, `byId()` finds them. The project compiles
 * without the DOM library (its code runs on Node), so the few browser APIs the page uses are
 * declared here, module-local, instead of pulling `lib.dom` into every file's globals.
 */

/** The part of an Element the page uses. */
export interface El {
  textContent: string | null;
  className: string;
  value: string;
  hidden: boolean;
  disabled: boolean;
  readonly dataset: Record<string, string | undefined>;
  readonly classList: { add(...c: string[]): void; remove(...c: string[]): void; toggle(c: string, force?: boolean): boolean };
  append(...nodes: (El | string)[]): void;
  replaceChildren(...nodes: (El | string)[]): void;
  setAttribute(name: string, value: string): void;
  addEventListener(type: string, listener: (event: DomEvent) => void): void;
  querySelector(selector: string): El | null;
  focus(): void;
  click(): void;
}

/** A file from a drop or a file input. */
export interface DomFile {
  readonly name: string;
  text(): Promise<string>;
}

/** The part of an Event the page uses. */
export interface DomEvent {
  preventDefault(): void;
  readonly key?: string;
  readonly ctrlKey?: boolean;
  readonly metaKey?: boolean;
  readonly dataTransfer?: { readonly files: ArrayLike<DomFile> } | null;
  readonly target?: { readonly files?: ArrayLike<DomFile> | null } | null;
}

interface Doc {
  createElement(tag: string): El;
  getElementById(id: string): El | null;
  addEventListener(type: string, listener: (event: DomEvent) => void): void;
  readonly readyState: string;
}

declare const document: Doc;
declare const location: { readonly origin: string };

/** The page's origin (the node). */
export function origin(): string {
  return location.origin;
}

/** Runs `f` once the document is parsed. */
export function ready(f: () => void): void {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => f());
  else f();
}

/** The element with `id`; throws when the page lacks it. */
export function byId(id: string): El {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el;
}

/** Properties of {@link h}: `class`, `id`, `text`, `data` (data-* attributes), `on` (listeners), other attributes. */
export interface Props {
  readonly class?: string;
  readonly id?: string;
  readonly text?: string;
  readonly title?: string;
  readonly data?: Readonly<Record<string, string>>;
  readonly attrs?: Readonly<Record<string, string>>;
  readonly on?: Readonly<Record<string, (event: DomEvent) => void>>;
}

/** A child of {@link h}: an element, text, or nothing (skipped). */
export type Child = El | string | number | false | null | undefined | readonly Child[];

function flatten(children: readonly Child[], out: (El | string)[]): (El | string)[] {
  for (const c of children) {
    if (c === false || c === null || c === undefined) continue;
    if (Array.isArray(c)) flatten(c as readonly Child[], out);
    else out.push(typeof c === "number" ? String(c) : (c as El | string));
  }
  return out;
}

/** Builds an element. Text is always set as text (never parsed as HTML). */
export function h(tag: string, props: Props = {}, ...children: Child[]): El {
  const el = document.createElement(tag);
  if (props.class !== undefined) el.className = props.class;
  if (props.id !== undefined) el.setAttribute("id", props.id);
  if (props.title !== undefined) el.setAttribute("title", props.title);
  for (const [k, v] of Object.entries(props.data ?? {})) el.dataset[k] = v;
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v);
  for (const [k, f] of Object.entries(props.on ?? {})) el.addEventListener(k, f);
  if (props.text !== undefined) el.textContent = props.text;
  el.append(...flatten(children, []));
  return el;
}
