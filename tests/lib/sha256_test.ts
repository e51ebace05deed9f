import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256Hex } from "../../lib/sha256.ts";
import { Rng } from "../../lib/rng.ts";

Deno.test("sha256Hex(): FIPS 180-4's test vectors, and node:crypto's digest for every length around the block size", () => {
  const te = new TextEncoder();
  assert.equal(sha256Hex(te.encode("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(sha256Hex(new Uint8Array()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(
    sha256Hex(te.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  const rng = new Rng(1);
  for (let n = 0; n < 200; n++) {
    const b = Uint8Array.from({ length: n }, () => rng.int(256));
    assert.equal(sha256Hex(b), createHash("sha256").update(b).digest("hex"), `length ${n}`);
  }
  const model = Deno.readFileSync("models/wall/fp32/predictor.onnx");
  assert.equal(sha256Hex(model), createHash("sha256").update(model).digest("hex"));
});
