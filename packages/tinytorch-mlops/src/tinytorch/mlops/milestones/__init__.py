"""Milestone 05, shipped with tinytorch-mlops: `tito milestones run optimized_inference`
(needs `pip install "tinytorch-mlops[milestone]"`: vision, language and onnx)."""
