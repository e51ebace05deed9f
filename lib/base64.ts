/** Strict base64 decoding (standard alphabet, optional padding); anything else throws. */
export function decodeBase64(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 === 1) throw new Error("invalid base64");
  const bin = atob(t.length % 4 ? t + "=".repeat(4 - (t.length % 4)) : t);
  // A plain loop: Uint8Array.from(bin, fn) makes a one-character string per byte (~30 MB of garbage for
  // a PNG at the body limit, which a burst of them turned into hundreds of MB of resident memory).
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
