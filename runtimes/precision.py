"""What precision an artifact really holds, read from the model file (not from its manifest).

A manifest that says ``fp32`` over an INT8 model would make the parity report apply
the wrong thresholds and the user ship the wrong file; ``check_precision`` catches it.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from pngan.errors import ArtifactError


def onnx_precision(path: Path) -> str:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf raises DecodeError, others on garbage
        raise ArtifactError(f"{path}: cannot load: corrupted ONNX file ({type(e).__name__})") from None
    ops = {n.op_type for n in model.graph.node}
    types = Counter(onnx.TensorProto.DataType.Name(t.data_type) for t in model.graph.initializer)
    if ops & {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "ConvInteger"} or types["INT8"] + types["UINT8"]:
        return "int8"
    return "fp16" if types["FLOAT16"] > types["FLOAT"] else "fp32"


def openvino_precision(path: Path) -> str:
    try:
        xml = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ArtifactError(f"{path}: cannot load: unreadable OpenVINO IR ({type(e).__name__})") from None
    if not xml.lstrip().startswith("<?xml") and "<net" not in xml[:2000]:
        raise ArtifactError(f"{path}: cannot load: not an OpenVINO IR (.xml) file")
    types = Counter(re.findall(r'element_type="(\w+)"', xml))
    if re.search(r'type="(FakeQuantize|FakeConvert)"', xml) or types["i8"] + types["u8"]:
        return "int8"
    return "fp16" if types["f16"] > types["f32"] else "fp32"


def detect_precision(path: str | Path) -> str | None:
    """``fp32``/``fp16``/``int8`` read from a model file (its format's ``precision_of``); ``None`` where
    the format is opaque (Core ML packages, TensorRT engines: checked by their runtimes on load)."""
    from pngan.runtimes import formats

    path = Path(path)
    fmt = formats.by_suffix(path.suffix)
    return formats.load(fmt.precision_of)(path) if fmt and fmt.precision_of else None


def check_precision(folder: Path, manifest: dict) -> None:
    """``ArtifactError`` when the model file's precision contradicts ``manifest['precision']``."""
    artifact = folder / manifest["artifact"]
    found = detect_precision(artifact)
    said = manifest["precision"]
    if found is not None and found != said:
        raise ArtifactError(f"{folder / 'manifest.json'}: says precision {said} but {artifact.name} holds a "
                            f"{found} model; re-export it or fix the manifest")
