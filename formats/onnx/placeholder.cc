// placeholder until the ONNX loader lands
