// hmac: HMAC-SHA256 of the input document's UTF-8 bytes under the granted secret `hmac_key`, logged through the
// host: {"hmac": "<hex>", "bytes": N}. The same transform as the Extism plugin rust-guests/wasm/hmac-plugin, so the
// two runtimes can be compared on equal work. Needs the grants loom_get_secret (secret hmac_key) and loom_log.
import { INFO, log, secret } from "./_loom";
import { hex, hmacSha256 } from "./_sha256";

export function run(input: string): string {
  const key = secret("hmac_key");
  if (key === null) throw new Error("hmac: the secret hmac_key is granted but not set");
  const message = Uint8Array.wrap(String.UTF8.encode(input));
  const mac = hmacSha256(Uint8Array.wrap(key), message);
  log(INFO, "signed " + message.length.toString() + " bytes");
  return "{\"hmac\":\"" + hex(mac) + "\",\"bytes\":" + message.length.toString() + "}";
}
