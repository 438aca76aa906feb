/**
 * `htu` comparison (RFC 9449 §4.3 check 9): the target URI without query and fragment, after
 * RFC 3986 §6.2.2 syntax-based normalisation (case of scheme and host, percent-encoding case,
 * decoding of unreserved characters, dot segments) and §6.2.3 scheme-based normalisation
 * (default port, empty path = "/").
 *
 * @module
 */

const UNRESERVED = /[A-Za-z0-9\-._~]/;

function normalisePercentEncoding(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/**
 * The normalised form of an `htu` or request URI: `scheme://host[:port]/path`, or `undefined`
 * when it is not an absolute http(s) URI without credentials.
 */
export function normalizeHtu(uri: string): string | undefined {
  if (typeof uri !== "string" || uri.length === 0 || uri.length > 8192) return undefined;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username !== "" || url.password !== "") return undefined;
  // WHATWG URL parsing already lowercases scheme and host, drops the default port, resolves dot
  // segments and turns an empty path into "/".
  return `${url.protocol}//${url.host}${normalisePercentEncoding(url.pathname)}`;
}

/** True when two URIs denote the same `htu` (query and fragment ignored). */
export function htuMatches(claimed: string, actual: string): boolean {
  const a = normalizeHtu(claimed);
  return a !== undefined && a === normalizeHtu(actual);
}
