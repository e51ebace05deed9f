import assert from "node:assert/strict";
import { cores, envVar, host, provideFiles, readBytes, readText, residentBytes } from "../../lib/platform.ts";

Deno.test("platform: under Deno the host is deno, with its memory, cores and environment", () => {
  assert.equal(host, "deno");
  assert.ok(residentBytes()! > 1e6);
  assert.ok(cores() >= 1);
  assert.equal(envVar("EDGEWM_SURELY_UNSET_VARIABLE"), undefined);
});

Deno.test("platform: files read from disk, provided files (a Workers host's modules) first, missing ones throw", () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/a.txt`, "on disk");
  assert.equal(readText(`${dir}/a.txt`), "on disk");
  provideFiles({ [`${dir}/a.txt`]: new TextEncoder().encode("provided"), "models/x/y.onnx": new Uint8Array([1, 2]) });
  assert.equal(readText(`${dir}/a.txt`), "provided");
  assert.deepEqual([...readBytes("models/x/y.onnx")], [1, 2]);
  assert.throws(() => readBytes(`${dir}/missing.bin`), Deno.errors.NotFound);
});
