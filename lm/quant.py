"""All bitsandbytes settings in one place: 4-bit NF4 with double quantisation (QLoRA)."""

from __future__ import annotations


def nf4_config(compute_dtype, storage=None):
    """A BitsAndBytesConfig that loads linear layers in 4-bit NF4 and computes in `compute_dtype`.

    `storage`: the dtype the packed 4-bit weights are kept in. FSDP and DeepSpeed ZeRO-3 shard only
    float tensors of one dtype, so there it must be the model's dtype (bf16); uint8 otherwise.
    """
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
        **({"bnb_4bit_quant_storage": storage} if storage is not None else {}),
    )
