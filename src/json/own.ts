/**
 * Own data properties for maps keyed by untrusted input. `obj[key] = value` with the key
 * `"__proto__"` does not add a member: it calls the `Object.prototype.__proto__` setter (a
 * prototype change), and `obj[key]` reads `Object.prototype` when no own member exists, so code
 * that writes through what it read (`(out[k] ??= {})[p] = v`) pollutes every object in the
 * process. These helpers keep every key data.
 *
 * @module
 */

/** Sets `obj[key] = value` as an own, enumerable data property (`"__proto__"` included). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** `obj[key]` if it is an own property, else undefined (never an inherited member). */
export function getOwn<T>(obj: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}
