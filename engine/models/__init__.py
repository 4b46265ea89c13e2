"""Models: the ensemble trainer (scikit-learn, training only), ONNX export, and the model bundle (scoring)."""
