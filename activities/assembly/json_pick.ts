// json_pick: {"document": <any JSON>, "paths": ["bazz", "buzz.1"]} -> {"bazz": 123, "buzz.1": "5"}
// Paths are dot paths (object keys, array indices); a missing path gives null. Values are copied verbatim.
// A document given as a string is read as JSON text (an HTTP body, say).
import { elements, lookup, member, quote, unescape } from "./_json";

export function run(input: string): string {
  let doc = member(input, "document");
  const paths = member(input, "paths");
  if (doc === null || paths === null) throw new Error("json_pick: input must be {\"document\": ..., \"paths\": [...]}");
  if (doc.charCodeAt(0) == 0x22) doc = unescape(doc);
  const list = elements(paths);
  let out = "{";
  for (let i = 0; i < list.length; i++) {
    const path = unescape(list[i]);
    const value = lookup(doc, path);
    if (i > 0) out += ",";
    out += quote(path) + ":" + (value === null ? "null" : value);
  }
  return out + "}";
}
