"""The embedder on ONNX Runtime: the packaged sentence-transformers model exported once, optionally int8.

The whole sentence-transformers pipeline (transformer, pooling, normalization) is traced into one
ONNX graph with ``torch.onnx.export``, so the exported model computes exactly what the torch model
computes (cosine 1.0 to fp32). The int8 variant quantizes the weights of its matrix products per
channel with ONNX Runtime's dynamic quantization (activations are quantized on the fly); per
channel and MatMul only, because per-tensor or quantized embedding tables fell to a cosine of
~0.96 to fp32 on handbook sentences (docs/adr/0017).

Exports are written once per model, quantization and weights digest into a cache folder
(``RAG_EMBEDDING_CACHE_DIR``, by default the user cache) and reused; nothing is downloaded.
``optimum`` (what sentence-transformers' own ONNX backend uses) does not install beside
transformers 5 here, hence the export by torch itself.

Each export also records, under a digest of the model folder's files, what opening it needs (the
export's name, the model's tokenizer, its input length and vector size). A later process loading
the same folder opens the export from that record with ONNX Runtime and the ``tokenizers`` library
alone: no torch, no transformers, no sentence-transformers model (about 5 s less per start).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["OnnxSentenceModel", "default_cache_dir", "export_onnx", "source_digest"]

Matrix = npt.NDArray[np.float32]
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_export_lock = threading.Lock()
_log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """Where exports go when no folder is given: ``$XDG_CACHE_HOME/policy-assistant/onnx``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "policy-assistant" / "onnx"


def source_digest(source: str | os.PathLike[str]) -> str | None:
    """A digest of every file under the model folder ``source`` (names and bytes); None for no folder.

    Two folders with the same digest hold the same model, tokenizer and configuration.
    """
    root = Path(source)
    if not root.is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        with path.open("rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()[:24]


def _record_path(folder: Path, source_key: str) -> Path:
    return folder / "sources" / f"{source_key}.json"


def _write_record(target: Path, record: dict[str, Any]) -> None:
    """Write ``record`` to ``target`` complete or not at all; a cache that cannot be written (read-only,
    full) only costs later processes the model load, so that is logged, not raised."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=target.parent, suffix=".part", delete=False) as tmp:
            json.dump(record, tmp)
        part = Path(tmp.name)
        try:
            part.chmod(0o644)
            part.replace(target)
        finally:
            part.unlink(missing_ok=True)
    except OSError as exc:
        _log.warning("cannot record the ONNX export in %s (%s); later starts load the model", target.parent, exc)


def _weights_digest(model: Any) -> str:
    """A digest of the model's parameters: an export is reused only for the very same weights."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def export_onnx(model: Any, cache_dir: str | os.PathLike[str] | None = None, *, quantized: bool = False) -> Path:
    """The ONNX file of sentence-transformers ``model`` (exported and, if asked, quantized on first call).

    Guarantees: the file is complete or absent (written to a temporary name, then renamed); a second
    call with the same weights returns the same file without exporting again.
    """
    import torch

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    key = _weights_digest(model)
    fp32 = folder / f"{key}.onnx"
    target = folder / f"{key}-int8.onnx" if quantized else fp32
    with _export_lock:
        if target.is_file():
            return target
        if not fp32.is_file():
            names = [n for n in _INPUTS if n in model.tokenizer.model_input_names]
            sample = model.tokenizer(["an example", "another example input"], padding=True, return_tensors="pt")

            class _Pipeline(torch.nn.Module):
                def __init__(self) -> None:
                    super().__init__()
                    self.st = model

                def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
                    out: torch.Tensor = self.st(dict(zip(names, tensors, strict=True)))["sentence_embedding"]
                    return out

            axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: "tokens"} for n in names}
            axes["sentence_embedding"] = {0: "batch"}
            with tempfile.NamedTemporaryFile(dir=folder, suffix=".part", delete=False) as tmp:
                part = Path(tmp.name)
            try:
                # The TorchScript exporter (dynamo=False) is deprecated in favour of torch.export's, which
                # needs onnxscript besides; it warns so, and the tracer warns about shape-dependent Python
                # branches that the dynamic axes cover. Neither is actionable here.
                with torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    torch.onnx.export(
                        _Pipeline().eval(),
                        tuple(sample[n] for n in names),
                        str(part),
                        input_names=names,
                        output_names=["sentence_embedding"],
                        dynamic_axes=axes,
                        opset_version=17,
                        dynamo=False,
                    )
                part.chmod(0o644)  # a temporary file is private; the export is not
                part.replace(fp32)
            finally:
                part.unlink(missing_ok=True)
        if quantized:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            part = folder / f"{key}-int8.onnx.part"
            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing hint as a warning
            try:
                quantize_dynamic(
                    fp32, part, weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
                )
                part.replace(target)
            finally:
                root.setLevel(level)
                part.unlink(missing_ok=True)
    return target


def _call_tokenizer(backend: Any, max_seq_length: int, pad: dict[str, Any], truncation_side: str) -> Any:
    """A copy of the Rust tokenizer ``backend`` set up as sentence-transformers calls its tokenizer:
    truncated to ``max_seq_length`` (longest first), padded to the longest text of a call."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(backend.to_str())
    tokenizer.enable_truncation(max_length=max_seq_length, strategy="longest_first", direction=truncation_side)
    tokenizer.enable_padding(
        direction=pad["side"], pad_id=pad["id"], pad_type_id=pad["type_id"], pad_token=pad["token"]
    )
    return tokenizer


class OnnxSentenceModel:
    """What :class:`ingest.embedding.Embedder` needs of a sentence-transformers model, run by ONNX Runtime.

    ``encode`` returns the same rows, in the same order, as ``SentenceTransformer.encode`` (texts
    are sorted by length into batches to pad less, as sentence-transformers does). With
    ``one_text_per_run`` (the int8 model) each text is run alone: its vector is the same whatever
    it is encoded with. ``backend_tokenizer`` is the model's Rust tokenizer (``tokenizers``), set to
    truncate and pad as the model is called.
    """

    def __init__(
        self,
        session: Any,
        tokenizer: Any,
        max_seq_length: int,
        dimension: int,
        *,
        one_text_per_run: bool = False,
    ) -> None:
        self._session = session
        self._names = [i.name for i in session.get_inputs()]
        self.backend_tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self._dimension = dimension
        self._one_text_per_run = one_text_per_run

    @staticmethod
    def _session_of(path: Path, threads: int | None) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    @classmethod
    def from_sentence_transformer(
        cls,
        model: Any,
        *,
        quantized: bool,
        cache_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
        source: str | os.PathLike[str] | None = None,
    ) -> OnnxSentenceModel:
        """Export ``model`` (first use only) and open the export; ``threads`` caps ONNX Runtime's intra-op pool.

        With ``source``, the model folder ``model`` was loaded from, the export is recorded under the
        folder's digest, so :meth:`open_recorded` opens it next time without loading ``model``.
        """
        path = export_onnx(model, cache_dir, quantized=quantized)
        dim = (
            model.get_embedding_dimension()
            if hasattr(model, "get_embedding_dimension")
            else model.get_sentence_embedding_dimension()
        )
        hf = model.tokenizer
        pad = {"side": hf.padding_side, "id": hf.pad_token_id, "type_id": hf.pad_token_type_id, "token": hf.pad_token}
        max_seq_length = int(model.max_seq_length)
        key = source_digest(source) if source is not None else None
        if key is not None:
            record = {
                "export": path.name,
                "max_seq_length": max_seq_length,
                "dimension": int(dim),
                "pad": pad,
                "truncation_side": hf.truncation_side,
                "tokenizer": hf.backend_tokenizer.to_str(),
            }
            _write_record(_record_path(path.parent, f"{key}-int8" if quantized else key), record)
        tokenizer = _call_tokenizer(hf.backend_tokenizer, max_seq_length, pad, hf.truncation_side)
        return cls(cls._session_of(path, threads), tokenizer, max_seq_length, int(dim), one_text_per_run=quantized)

    @classmethod
    def open_recorded(
        cls,
        source: str | os.PathLike[str],
        *,
        quantized: bool,
        cache_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
    ) -> OnnxSentenceModel | None:
        """The export an earlier :meth:`from_sentence_transformer` recorded for the model folder
        ``source``, opened without torch or transformers; None when there is no such record (or its
        export is gone or unreadable), and the caller loads the model instead."""
        from tokenizers import Tokenizer

        key = source_digest(source)
        if key is None:
            return None
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        try:
            record = json.loads(_record_path(folder, f"{key}-int8" if quantized else key).read_text())
            path = folder / str(record["export"])
            if not path.is_file():
                return None
            tokenizer = _call_tokenizer(
                Tokenizer.from_str(record["tokenizer"]),
                int(record["max_seq_length"]),
                dict(record["pad"]),
                str(record["truncation_side"]),
            )
            session = cls._session_of(path, threads)
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged record or export: loading the model writes both again
            _log.warning(
                "cannot open the recorded ONNX export of %s (%s: %s); exporting again", source, type(exc).__name__, exc
            )
            return None
        return cls(
            session, tokenizer, int(record["max_seq_length"]), int(record["dimension"]), one_text_per_run=quantized
        )

    def get_embedding_dimension(self) -> int:
        """Length of one vector."""
        return self._dimension

    def encode(self, texts: list[str], batch_size: int = 64, **_: Any) -> Matrix:
        """L2-normalized vectors of ``texts`` (row i for texts[i]); the torch model's keyword options are ignored.

        The int8 model runs one text at a time, so a text's vector never depends on the texts it is
        encoded with: its dynamic quantization scales activations per tensor, over every row and
        padding position of a run, and batched with a long text a sentence's vector moved to a cosine
        of 0.98-0.99 of its own (docs/adr/0017). One text per run is no slower for this model (no padding).
        """
        if self._one_text_per_run:
            batch_size = 1
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            encodings = self.backend_tokenizer.encode_batch([texts[i] for i in rows])
            columns = {
                "input_ids": [e.ids for e in encodings],
                "attention_mask": [e.attention_mask for e in encodings],
                "token_type_ids": [e.type_ids for e in encodings],
            }
            feed = {n: np.asarray(columns[n], dtype=np.int64) for n in self._names}
            out[rows] = self._session.run(None, feed)[0]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        normalized: Matrix = (out / np.maximum(norms, 1e-12)).astype(np.float32)
        return normalized
