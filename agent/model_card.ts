/**
 * A model directory's card (`model.json`) and its integrity check: every file
 * it lists must exist with the recorded sha256, or loading stops with a
 * `ModelLoadError` that says which file and why.
 */
import { createHash } from "node:crypto";

/** The hex sha256 that model cards record for each file. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export class ModelLoadError extends Error {
  override name = "ModelLoadError";
}

export interface ModelCard {
  format: string;
  task: string;
  variant: string;
  image_size: number;
  patch: number;
  tokens: number;
  latent_dim: number;
  global_dim: number;
  num_hist: number;
  frameskip: number;
  env_action_dim: number;
  action_dim: number;
  proprio_dim: number;
  action_mean: number[];
  action_std: number[];
  action_low: number[];
  action_high: number[];
  proprio_mean: number[];
  proprio_std: number[];
  /** Planning cost weights; `mode` "last" scores the final predicted frame (DINO-WM), "all" every step. */
  objective: { patch: number; global: number; proprio: number; mode: "last" | "all" };
  files: Record<string, { sha256: string; bytes: number }>;
  [key: string]: unknown;
}

const REQUIRED_NUMBERS = [
  "image_size",
  "tokens",
  "latent_dim",
  "global_dim",
  "num_hist",
  "frameskip",
  "env_action_dim",
  "action_dim",
  "proprio_dim",
] as const;

/** Read and verify `dir/model.json` and the files it lists. */
export function loadModelCard(dir: string): ModelCard {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${dir}/model.json`);
  } catch (e) {
    throw new ModelLoadError(`${dir}: cannot read model.json (${(e as Error).message})`);
  }
  let card: ModelCard;
  try {
    card = JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(`${dir}/model.json is not valid JSON (${(e as Error).message})`);
  }
  if (card.format !== "edgewm-model/1") {
    throw new ModelLoadError(`${dir}/model.json: unknown format "${card.format}" (expected edgewm-model/1)`);
  }
  for (const k of REQUIRED_NUMBERS) {
    if (!Number.isInteger(card[k]) || (card[k] as number) < 1) {
      throw new ModelLoadError(`${dir}/model.json: field ${k} must be a positive integer, got ${card[k]}`);
    }
  }
  if (card.action_dim !== card.frameskip * card.env_action_dim) {
    throw new ModelLoadError(`${dir}/model.json: action_dim ${card.action_dim} != frameskip x env_action_dim`);
  }
  for (const k of ["action_mean", "action_std", "action_low", "action_high"] as const) {
    if (!Array.isArray(card[k]) || card[k].length !== card.action_dim) {
      throw new ModelLoadError(`${dir}/model.json: ${k} must list ${card.action_dim} numbers`);
    }
  }
  for (const name of ["encoder.onnx", "predictor.onnx"]) {
    if (!card.files?.[name]) throw new ModelLoadError(`${dir}/model.json does not list ${name}`);
  }
  for (const [name, { sha256: expected }] of Object.entries(card.files)) {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(`${dir}/${name}`);
    } catch {
      throw new ModelLoadError(`${dir}/${name} is listed in model.json but missing`);
    }
    const got = sha256(bytes);
    if (got !== expected) {
      throw new ModelLoadError(
        `${dir}/${name} does not match model.json (sha256 ${got.slice(0, 12)}..., expected ${
          expected.slice(0, 12)
        }...): the file is corrupt or was replaced; re-export or restore it`,
      );
    }
  }
  return card;
}
