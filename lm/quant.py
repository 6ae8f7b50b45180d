"""All bitsandbytes settings in one place: 4-bit NF4 with double quantisation (QLoRA)."""

from __future__ import annotations


def nf4_config(compute_dtype):
    """A BitsAndBytesConfig that loads linear layers in 4-bit NF4 and computes in `compute_dtype`."""
    from transformers import BitsAndBytesConfig

    try:
        import bitsandbytes  # noqa: F401
    except ImportError as err:
        raise ImportError("4-bit loading needs bitsandbytes: pip install bitsandbytes") from err
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )
