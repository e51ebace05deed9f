/** Strict base64 decoding (standard alphabet, optional padding); anything else throws. */
export function decodeBase64(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 === 1) throw new Error("invalid base64");
  const bin = atob(t.length % 4 ? t + "=".repeat(4 - (t.length % 4)) : t);
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
