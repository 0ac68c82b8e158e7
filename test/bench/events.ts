// The JSON records the benches post: a web server's requests with addresses, a user and an outcome.

/** Record n of a run; `day` (0 = 2026-11-22) moves it to another day, so each run can write a fresh partition. */
export function eventLine(n: number, day = 0): string {
  return JSON.stringify({
    '@timestamp': new Date(Date.UTC(2026, 10, 22 + day, 12, 0, 0, n % 86_400_000)).toISOString(),
    host: `web-${n % 50}`, src_ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, dst_ip: `203.0.${(n >> 8) & 127}.${n & 255}`, dst_port: 443,
    user: `user${n % 1000}`, action: 'http_request', outcome: n % 10 ? 'success' : 'failure',
    url: `/app/item/${n % 5000}?q=${n}`, status: n % 10 ? 200 : 404, user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
    message: `GET /app/item/${n % 5000} HTTP/1.1`,
  });
}
