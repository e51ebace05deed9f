import assert from "node:assert/strict";
import { DefaultsError, parseDefaults, resolveDefaults } from "../../../agent/http/defaults.ts";

Deno.test("resolveDefaults(): EDGEWM_DEFAULTS first, then the bundled default where loaded, then the only or fp32", () => {
  const loaded = ["wall/fp32", "wall/w4", "pusht/w4", "myrobot/fp32", "arm/a", "arm/fp32"];
  assert.deepEqual(resolveDefaults(loaded, { wall: "w4", pusht: "w8" }), {
    wall: "w4",
    pusht: "w4", // its bundled default is not loaded; its only variant is
    myrobot: "fp32",
    arm: "fp32",
  });
  assert.deepEqual(resolveDefaults(loaded, { wall: "w4" }, "wall=fp32, arm=a").wall, "fp32");
  assert.equal(resolveDefaults(loaded, {}, "arm=a").arm, "a");
});

Deno.test("resolveDefaults(): a default that is not loaded, or no way to choose, is one line naming it", () => {
  assert.throws(
    () => resolveDefaults(["wall/fp32"], {}, "wall=w4"),
    /EDGEWM_DEFAULTS names wall=w4, which is not loaded \(loaded: wall\/fp32\)/,
  );
  assert.throws(() => resolveDefaults(["arm/a", "arm/b"], {}), (e: unknown) => {
    assert.ok(e instanceof DefaultsError);
    assert.match(
      e.message,
      /task arm has 2 variants loaded \(a, b\) and no default: set EDGEWM_DEFAULTS=arm=<variant>/,
    );
    return true;
  });
  assert.throws(() => parseDefaults("wall"), /"wall" is not task=variant/);
  assert.throws(() => parseDefaults("wall=a,wall=b"), /names task wall twice/);
});
