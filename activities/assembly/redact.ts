// redact: {"document": <any JSON>, "paths": ["user.email", "token"]} -> the document with the value at each path
// replaced by "[redacted]", byte for byte elsewhere: share a notarized response without its secrets.
import { elements, locateAll, membersAt, spanEnd, spanStart, unescape } from "./_json";

export function run(input: string): string {
  const found = membersAt(input, ["document", "paths"]);
  if (found[0] < 0 || found[1] < 0) throw new Error("redact: input must be {\"document\": ..., \"paths\": [...]}");
  const doc = input.substring(spanStart(found[0]), spanEnd(found[0]));
  const list = elements(input.substring(spanStart(found[1]), spanEnd(found[1])));
  const paths = new Array<string>(list.length);
  for (let i = 0; i < list.length; i++) paths[i] = unescape(list[i]);
  const located = locateAll(doc, paths);
  const spans = new Array<i64>();
  for (let i = 0; i < located.length; i++) if (located[i] >= 0) spans.push(located[i]);
  spans.sort((a: i64, b: i64): i32 => (a < b ? -1 : a > b ? 1 : 0));
  let out = "";
  let at = 0;
  for (let i = 0; i < spans.length; i++) {
    if (spanStart(spans[i]) < at) continue; // inside a value already redacted
    out += doc.substring(at, spanStart(spans[i])) + "\"[redacted]\"";
    at = spanEnd(spans[i]);
  }
  return out + doc.substring(at);
}
