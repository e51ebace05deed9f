"""The peer baseline: onnxruntime's own weight-only quantizer (MatMulNBitsQuantizer) on one graph.

    python study/pipeline/ort_quantize.py --in models/wall/fp32/encoder.onnx --out /tmp/enc.onnx --algo rtn --group 32

`rtn` is onnxruntime's default block-wise min-max quantizer, `hqq` its half-quadratic one; both
write com.microsoft MatMulNBits nodes, W4. The study (study/pipeline/sweep.ts) calls this for each module
and writes the model card; it skips these rows with a message where onnxruntime is missing.
"""
import argparse

import onnx
from onnxruntime.quantization import matmul_nbits_quantizer as mnb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--in", dest="src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--algo", choices=["rtn", "hqq"], required=True)
    ap.add_argument("--group", type=int, default=32)
    ap.add_argument("--bits", type=int, default=4)
    a = ap.parse_args()
    model = onnx.load(a.src)
    if a.algo == "hqq":
        config = mnb.HQQWeightOnlyQuantConfig(block_size=a.group, bits=a.bits)
    else:
        config = mnb.DefaultWeightOnlyQuantConfig(block_size=a.group, is_symmetric=False, bits=a.bits)
    q = mnb.MatMulNBitsQuantizer(model, bits=a.bits, block_size=a.group, algo_config=config)
    q.process()
    n = sum(1 for node in q.model.model.graph.node if node.op_type == "MatMulNBits")
    onnx.save(q.model.model, a.out)
    print(f"ort_quantize: {a.src} -> {a.out}: {a.algo} w{a.bits} g{a.group}, {n} MatMulNBits nodes")


if __name__ == "__main__":
    main()
