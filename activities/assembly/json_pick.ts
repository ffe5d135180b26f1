// json_pick: {"document": <any JSON>, "paths": ["bazz", "buzz.1"]} -> {"bazz": 123, "buzz.1": "5"}
// Paths are dot paths (object keys, array indices); a missing path gives null. Values are copied verbatim.
// A document given as a string is read as JSON text (an HTTP body, say).
// One pass finds the document and the paths, and one walk over the document finds every path.
import { elements, locateAll, locateAllIn, membersAt, quote, spanEnd, spanStart, unescape, unescapeIn } from "./_json";

export function run(input: string): string {
  const found = membersAt(input, ["document", "paths"]);
  if (found[0] < 0 || found[1] < 0) throw new Error("json_pick: input must be {\"document\": ..., \"paths\": [...]}");
  // A document given as JSON text (a string) is read from its value; any other is read where it lies in the input.
  const text = input.charCodeAt(spanStart(found[0])) == 0x22;
  const doc = text ? unescapeIn(input, found[0]) : input;
  const list = elements(input.substring(spanStart(found[1]), spanEnd(found[1])));
  const paths = new Array<string>(list.length);
  for (let i = 0; i < list.length; i++) paths[i] = unescape(list[i]);
  const spans = text ? locateAll(doc, paths) : locateAllIn(input, found[0], paths);
  let out = "{";
  for (let i = 0; i < paths.length; i++) {
    if (i > 0) out += ",";
    out += quote(paths[i]) + ":" + (spans[i] < 0 ? "null" : doc.substring(spanStart(spans[i]), spanEnd(spans[i])));
  }
  return out + "}";
}
