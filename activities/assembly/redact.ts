// redact: {"document": <any JSON>, "paths": ["user.email", "token"]} -> the document with the value at each path
// replaced by "[redacted]", byte for byte elsewhere: share a notarized response without its secrets.
import { elements, locate, member, spanEnd, spanStart, unescape } from "./_json";

export function run(input: string): string {
  const doc = member(input, "document");
  const paths = member(input, "paths");
  if (doc === null || paths === null) throw new Error("redact: input must be {\"document\": ..., \"paths\": [...]}");
  const list = elements(paths);
  const spans = new Array<i64>();
  for (let i = 0; i < list.length; i++) {
    const sp = locate(doc, unescape(list[i]));
    if (sp >= 0) spans.push(sp);
  }
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
