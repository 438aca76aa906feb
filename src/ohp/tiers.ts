/** OHP conformance tiers (§3.1), in their total order core < signed < sealed < regulated. */
export const TIERS = ["core", "signed", "sealed", "regulated"] as const;
export type Tier = (typeof TIERS)[number];

/** True when `value` is a tier name. */
export function isTier(value: unknown): value is Tier {
  return typeof value === "string" && (TIERS as readonly string[]).includes(value);
}

/** Position of a tier in the order (core = 0). */
export function tierRank(tier: Tier): number {
  return TIERS.indexOf(tier);
}

/** True when `a` is at least `b` (each tier is a strict superset of the ones below, §3.1). */
export function tierAtLeast(a: Tier, b: Tier): boolean {
  return tierRank(a) >= tierRank(b);
}
