"""Evaluation: the same questions answered in several modes, scored and compared.

- `compare.py`: every question in every mode (base, rag, sft, rag+sft), scored; `save_compare`;
- `results.py`: a `Row` per answer, the `CompareResult`, saved experiments listed and read back;
- `report.py`: the summary table, report.md and the chart;
- `metrics.py`: EM, F1, ROUGE-L, faithfulness and bootstrap confidence intervals, pure functions;
- `experiment.py`: the SQuAD study (index, train SFT and RAFT adapters, compare, verdict).
"""
