// redact: {"document": <any JSON>, "paths": ["user.email", "token"]} -> the document with the value at each path
// replaced by "[redacted]", byte for byte elsewhere: share a notarized response without its secrets.
// The document is read where it lies in the input and the output is built in one allocation.
import { elements, locateAllIn, membersAt, replaceSpans, spanEnd, spanStart, unescape } from "./_json";

export function run(input: string): string {
  const found = membersAt(input, ["document", "paths"]);
  if (found[0] < 0 || found[1] < 0) throw new Error("redact: input must be {\"document\": ..., \"paths\": [...]}");
  const list = elements(input.substring(spanStart(found[1]), spanEnd(found[1])));
  const paths = new Array<string>(list.length);
  for (let i = 0; i < list.length; i++) paths[i] = unescape(list[i]);
  const located = locateAllIn(input, found[0], paths);
  const spans = new Array<i64>();
  for (let i = 0; i < located.length; i++) if (located[i] >= 0) spans.push(located[i]);
  spans.sort((a: i64, b: i64): i32 => (a < b ? -1 : a > b ? 1 : 0));
  return replaceSpans(input, spanStart(found[0]), spanEnd(found[0]), spans, "\"[redacted]\"");
}
