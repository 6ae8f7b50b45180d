"""What training and answering both need: resolving and loading models (the embedded GGUF
converted once into a cache), 4-bit quantisation, prompts, question files and where files live.

Layers: tui | bench > assistant > finetune > lm > index; lm imports only from index.
"""
