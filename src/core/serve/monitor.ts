/**
 * Monitoring of a serving model: one record per request (the JSONL request log), Prometheus
 * metrics, alert rules over a sliding window, and the summary `tabtune monitor` prints.
 */

export interface RequestRecord {
  readonly type: 'request';
  /** ISO time the request finished. */
  readonly time: string;
  readonly id: string;
  readonly endpoint: string;
  /** The adapter used, or null for the base model. */
  readonly adapter: string | null;
  readonly status: number;
  readonly latency_ms: number;
  /** Time to first token (null when none was produced). */
  readonly ttft_ms: number | null;
  readonly tokens_in: number;
  readonly tokens_out: number;
  readonly tokens_per_s: number | null;
  readonly error: string | null;
  readonly flags_prompt: readonly string[];
  readonly flags_output: readonly string[];
}

export interface AlertRecord {
  readonly type: 'alert';
  readonly time: string;
  readonly rule: string;
  readonly value: number;
  readonly threshold: number;
  readonly window_s: number;
  readonly requests: number;
}

export interface FeedbackRecord {
  readonly type: 'feedback';
  readonly time: string;
  readonly id: string;
  readonly adapter: string | null;
  /** The completion prompt, or the chat messages before the answer. */
  readonly prompt: string | readonly { role: string; content: string }[];
  readonly completion: string;
  /** +1 / -1 (or any number; positive is good), or null. */
  readonly rating: number | null;
  /** The answer the user would have preferred, or null. */
  readonly preferred: string | null;
}

export type LogRecord = RequestRecord | AlertRecord | FeedbackRecord;

/** p in [0, 1] of sorted values (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export interface AlertRules {
  readonly windowSeconds: number;
  /** Rules fire only once the window holds this many requests. */
  readonly minRequests: number;
  readonly errorRate: number;
  readonly p95LatencyMs: number;
  readonly flaggedRate: number;
}

export const DEFAULT_ALERT_RULES: AlertRules = { windowSeconds: 300, minRequests: 20, errorRate: 0.1, p95LatencyMs: 30_000, flaggedRate: 0.05 };

/** Client errors the server answered on purpose are not failures of the service. */
const isError = (r: RequestRecord): boolean => r.status >= 500 || (r.error !== null && r.status !== 429 && r.status < 400);

/** Evaluates the rules over the recent requests; an alert is reported when a rule starts firing. */
export class AlertMonitor {
  private readonly recent: { at: number; r: RequestRecord }[] = [];
  private readonly firing = new Set<string>();

  constructor(readonly rules: AlertRules) {}

  observe(r: RequestRecord, now: number): AlertRecord[] {
    this.recent.push({ at: now, r });
    while (this.recent.length && this.recent[0]!.at < now - this.rules.windowSeconds * 1000) this.recent.shift();
    const served = this.recent.filter((x) => x.r.status !== 429).map((x) => x.r);
    if (served.length < this.rules.minRequests) return [];
    const latencies = served.filter((r) => r.status < 400).map((r) => r.latency_ms).sort((a, b) => a - b);
    const values: [string, number, number][] = [
      ['error_rate', served.filter(isError).length / served.length, this.rules.errorRate],
      ['p95_latency_ms', percentile(latencies, 0.95) ?? 0, this.rules.p95LatencyMs],
      ['flagged_output_rate', served.filter((r) => r.flags_output.length > 0).length / served.length, this.rules.flaggedRate],
    ];
    const out: AlertRecord[] = [];
    for (const [rule, value, threshold] of values) {
      if (value > threshold && !this.firing.has(rule)) {
        this.firing.add(rule);
        out.push({ type: 'alert', time: new Date(now).toISOString(), rule, value, threshold, window_s: this.rules.windowSeconds, requests: served.length });
      } else if (value <= threshold) {
        this.firing.delete(rule);
      }
    }
    return out;
  }
}

const LATENCY_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Counters and a latency histogram in the Prometheus text exposition format. */
export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly tokens = new Map<string, number>();
  private readonly buckets = new Map<string, number[]>();
  private readonly sums = new Map<string, number>();
  private flagged = 0;
  private alerts = 0;
  private feedback = 0;

  observe(r: RequestRecord): void {
    const a = r.adapter ?? 'base';
    const key = `adapter="${escapeLabel(a)}",status="${r.status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    for (const [dir, n] of [['in', r.tokens_in], ['out', r.tokens_out]] as const) {
      const k = `adapter="${escapeLabel(a)}",direction="${dir}"`;
      this.tokens.set(k, (this.tokens.get(k) ?? 0) + n);
    }
    if (r.status < 400) {
      const b = this.buckets.get(a) ?? new Array<number>(LATENCY_BUCKETS_S.length + 1).fill(0);
      const s = r.latency_ms / 1000;
      LATENCY_BUCKETS_S.forEach((le, i) => { if (s <= le) b[i]!++; });
      b[LATENCY_BUCKETS_S.length]!++;
      this.buckets.set(a, b);
      this.sums.set(a, (this.sums.get(a) ?? 0) + s);
    }
    if (r.flags_output.length) this.flagged++;
  }

  countAlert(): void { this.alerts++; }
  countFeedback(): void { this.feedback++; }

  text(gauges: { inFlight: number; queued: number }): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string): void => void lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family('tabtune_requests_total', 'counter', 'Requests answered, by adapter and HTTP status.');
    for (const [k, v] of this.requests) lines.push(`tabtune_requests_total{${k}} ${v}`);
    family('tabtune_tokens_total', 'counter', 'Prompt (in) and generated (out) tokens.');
    for (const [k, v] of this.tokens) lines.push(`tabtune_tokens_total{${k}} ${v}`);
    family('tabtune_request_duration_seconds', 'histogram', 'Latency of successful requests.');
    for (const [a, b] of this.buckets) {
      const l = `adapter="${escapeLabel(a)}"`;
      LATENCY_BUCKETS_S.forEach((le, i) => lines.push(`tabtune_request_duration_seconds_bucket{${l},le="${le}"} ${b[i]}`));
      lines.push(`tabtune_request_duration_seconds_bucket{${l},le="+Inf"} ${b[LATENCY_BUCKETS_S.length]}`);
      lines.push(`tabtune_request_duration_seconds_sum{${l}} ${this.sums.get(a)}`,
        `tabtune_request_duration_seconds_count{${l}} ${b[LATENCY_BUCKETS_S.length]}`);
    }
    family('tabtune_flagged_outputs_total', 'counter', 'Outputs in which the checks found personal data or blocklisted terms.');
    lines.push(`tabtune_flagged_outputs_total ${this.flagged}`);
    family('tabtune_alerts_total', 'counter', 'Alerts raised.');
    lines.push(`tabtune_alerts_total ${this.alerts}`);
    family('tabtune_feedback_total', 'counter', 'Feedback entries received.');
    lines.push(`tabtune_feedback_total ${this.feedback}`);
    family('tabtune_requests_in_flight', 'gauge', 'Requests generating now.');
    lines.push(`tabtune_requests_in_flight ${gauges.inFlight}`);
    family('tabtune_requests_queued', 'gauge', 'Requests waiting for a slot.');
    lines.push(`tabtune_requests_queued ${gauges.queued}`);
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export interface GroupSummary {
  requests: number;
  errors: number;
  rejected: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  ttft_ms_p50: number | null;
  tokens_in: number;
  tokens_out: number;
  tokens_per_s_mean: number | null;
  flagged_prompts: number;
  flagged_outputs: number;
}

export interface LogSummary extends GroupSummary {
  alerts: Record<string, number>;
  feedback: { entries: number; positive: number; negative: number; preferred: number };
  adapters: Record<string, GroupSummary>;
}

function group(rs: readonly RequestRecord[]): GroupSummary {
  const ok = rs.filter((r) => r.status < 400);
  const lat = ok.map((r) => r.latency_ms).sort((a, b) => a - b);
  const ttft = ok.map((r) => r.ttft_ms).filter((x): x is number => x !== null).sort((a, b) => a - b);
  const tps = ok.map((r) => r.tokens_per_s).filter((x): x is number => x !== null);
  return {
    requests: rs.length,
    errors: rs.filter((r) => r.status >= 400 && r.status !== 429).length,
    rejected: rs.filter((r) => r.status === 429).length,
    latency_ms: { p50: percentile(lat, 0.5), p95: percentile(lat, 0.95), p99: percentile(lat, 0.99) },
    ttft_ms_p50: percentile(ttft, 0.5),
    tokens_in: rs.reduce((a, r) => a + r.tokens_in, 0),
    tokens_out: rs.reduce((a, r) => a + r.tokens_out, 0),
    tokens_per_s_mean: tps.length ? tps.reduce((a, b) => a + b, 0) / tps.length : null,
    flagged_prompts: rs.filter((r) => r.flags_prompt.length > 0).length,
    flagged_outputs: rs.filter((r) => r.flags_output.length > 0).length,
  };
}

/** The summary of a request/feedback log. */
export function summarise(records: readonly LogRecord[]): LogSummary {
  const reqs = records.filter((r): r is RequestRecord => r.type === 'request');
  const fb = records.filter((r): r is FeedbackRecord => r.type === 'feedback');
  const alerts: Record<string, number> = {};
  for (const r of records) if (r.type === 'alert') alerts[r.rule] = (alerts[r.rule] ?? 0) + 1;
  const adapters: Record<string, GroupSummary> = {};
  for (const name of new Set(reqs.map((r) => r.adapter ?? 'base'))) adapters[name] = group(reqs.filter((r) => (r.adapter ?? 'base') === name));
  return {
    ...group(reqs),
    alerts,
    feedback: {
      entries: fb.length,
      positive: fb.filter((f) => (f.rating ?? 0) > 0).length,
      negative: fb.filter((f) => (f.rating ?? 0) < 0).length,
      preferred: fb.filter((f) => f.preferred !== null).length,
    },
    adapters,
  };
}
