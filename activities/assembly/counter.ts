// counter (an actor): {"add": N} -> {"count": <running total>}. The total is a module variable: it lives in this
// instance between calls, which is what Loom's actors keep alive (and snapshot and restore).
import { member } from "./_json";

let count: i64 = 0;

export function run(input: string): string {
  const add = member(input, "add");
  if (add === null) throw new Error("counter: input must be {\"add\": <integer>}");
  for (let i = 0; i < add.length; i++) {
    const c = add.charCodeAt(i);
    if (!(c >= 0x30 && c <= 0x39) && !(i == 0 && c == 0x2d)) throw new Error("counter: add must be an integer");
  }
  count += I64.parseInt(add);
  return "{\"count\":" + count.toString() + "}";
}
