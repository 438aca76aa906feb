/**
 * Prometheus-style metrics of a node (text exposition format 0.0.4), fed by the node's
 * structured log events, plus gauges computed at scrape time. No client library: the format is
 * a few lines, and the counters stay exact.
 */
import type { NodeLogEvent } from "../ohp/control/node.js";

type Labels = Readonly<Record<string, string>>;

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escape(labels[k]!)}"`)
    .join(",");
}

/** A counter family. */
class Counter {
  readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
}

/** Metrics of one node. */
export class NodeMetrics {
  readonly #counters: Counter[] = [];
  readonly received = this.#counter("agentwire_ohp_envelopes_received_total", "OHP envelopes received, by verb, binding, outcome and REJECT reason.");
  readonly answers = this.#counter("agentwire_ohp_answers_total", "ACCEPT/REJECT answers sent, by verb and reason.");
  readonly duplicates = this.#counter("agentwire_ohp_duplicates_total", "Envelopes answered from the idempotency cache.");
  readonly sent = this.#counter("agentwire_ohp_envelopes_sent_total", "OHP envelopes sent, by verb and binding.");
  readonly timers = this.#counter("agentwire_ohp_timers_total", "Timer transitions (stale, released), by resulting state.");
  readonly errors = this.#counter("agentwire_internal_errors_total", "Unexpected errors answered with a REJECT.");
  readonly #started = Date.now();

  #counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.#counters.push(c);
    return c;
  }

  /** Feeds one log event. */
  observe(e: NodeLogEvent): void {
    const binding = typeof e.binding === "string" ? e.binding : "none";
    switch (e.event) {
      case "verified":
        this.received.inc({ verb: String(e.verb ?? "unknown"), binding, outcome: String(e.outcome ?? "unknown"), reason: String(e.reason ?? "") });
        break;
      case "answered":
        this.answers.inc({ verb: String(e.verb ?? "unknown"), reason: String(e.reason ?? "") });
        break;
      case "duplicate":
        this.duplicates.inc({ binding });
        break;
      case "send":
        this.sent.inc({ verb: String(e.verb ?? "unknown"), binding });
        break;
      case "timer":
        this.timers.inc({ state: String(e["state"] ?? "unknown") });
        break;
      case "internal-error":
        this.errors.inc();
        break;
      default:
    }
  }

  /** The exposition text; `gauges` adds scrape-time values (e.g. handoffs by state). */
  render(gauges: readonly { readonly name: string; readonly help: string; readonly values: readonly [Labels, number][] }[] = []): string {
    const lines: string[] = [];
    for (const c of this.#counters) {
      lines.push(`# HELP ${c.name} ${c.help}`, `# TYPE ${c.name} counter`);
      if (c.values.size === 0) lines.push(`${c.name} 0`);
      for (const [k, v] of c.values) lines.push(`${c.name}${k ? `{${k}}` : ""} ${v}`);
    }
    const mem = process.memoryUsage();
    const builtins = [
      { name: "agentwire_process_resident_memory_bytes", help: "Resident set size.", values: [[{}, mem.rss]] as [Labels, number][] },
      { name: "agentwire_nodejs_heap_used_bytes", help: "V8 heap in use.", values: [[{}, mem.heapUsed]] as [Labels, number][] },
      { name: "agentwire_uptime_seconds", help: "Seconds since the node started.", values: [[{}, Math.round((Date.now() - this.#started) / 1000)]] as [Labels, number][] },
    ];
    for (const g of [...builtins, ...gauges]) {
      lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
      for (const [labels, v] of g.values) {
        const k = key(labels);
        lines.push(`${g.name}${k ? `{${k}}` : ""} ${v}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}
