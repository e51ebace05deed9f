"""edgewm training: self-supervised encoder, per-task predictors, ONNX export."""
