/** The quantization toolkit's one error class: a bad option or a graph it cannot quantize, said in one line. */
import { UserError } from "../lib/errors.ts";

export class QuantError extends UserError {
  override name = "QuantError";
}
