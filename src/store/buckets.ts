// Time buckets for the relay-attempt graphs (UTC day, ISO week starting Monday, month), shared by the sensor's SQLite
// store and the collector's PostgreSQL store: bucket starts and the filling of empty buckets.

export type Bucket = "day" | "week" | "month";

/** Most buckets one stats answer fills (a day bucket over 30 years is ~11k). */
export const MAX_BUCKETS = 12_000;

/** The start of the bucket holding `t` (ms), as 'YYYY-MM-DD'. */
export function bucketDay(t: number, bucket: Bucket): string {
  const d = new Date(t);
  d.setUTCHours(0, 0, 0, 0);
  if (bucket === "week") d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  if (bucket === "month") d.setUTCDate(1);
  return d.toISOString().slice(0, 10);
}

export function nextBucketDay(day: string, bucket: Bucket): string {
  const d = new Date(day + "T00:00:00Z");
  if (bucket === "day") d.setUTCDate(d.getUTCDate() + 1);
  else if (bucket === "week") d.setUTCDate(d.getUTCDate() + 7);
  else d.setUTCMonth(d.getUTCMonth() + 1);
  return d.toISOString().slice(0, 10);
}

/**
 * One entry per bucket from the first row's bucket to the bucket of `until` (or now, if earlier), empty buckets
 * included. `rows` are [bucket start 'YYYY-MM-DD', row] in ascending order; `make` builds an entry (row undefined:
 * an empty bucket) from the bucket start as ISO-8601.
 */
export function fillBuckets<R, X>(rows: Array<[string, R]>, bucket: Bucket, until: number, make: (start: string, row: R | undefined) => X): X[] {
  if (rows.length === 0) return [];
  const byDay = new Map(rows);
  const lastRow = rows[rows.length - 1]![0];
  const last = bucketDay(Math.min(until - 1, Date.now()), bucket);
  const end = lastRow > last ? lastRow : last;
  const out: X[] = [];
  for (let cur = rows[0]![0]; cur <= end && out.length < MAX_BUCKETS; cur = nextBucketDay(cur, bucket)) {
    out.push(make(cur + "T00:00:00.000Z", byDay.get(cur)));
  }
  return out;
}
