// http_fetch: {"method": "GET", "url": "https://...", "headers": {...}, "body": "..."} -> the response,
// {"status": 200, "url": ..., "headers": {...}, "body": "..."}. Needs a loom_http grant naming the hosts it may reach
// (loom activity register ... --allow-host api.example.com); without one, every request is refused.
import { http } from "./_loom";

export function run(input: string): string {
  return http(input);
}
