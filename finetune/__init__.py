"""Fine-tuning: data formats, RAFT-style data, QLoRA/LoRA training, adapters."""
