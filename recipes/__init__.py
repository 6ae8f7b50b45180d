"""Scripts that build what the project ships, with the library's own calls: run as
`python -m recipes.<name>`. A layer above `assistant` (beside `bench` and `tui`): nothing in the
library imports a recipe.

- `grounding_adapter`: the LoRA the embedded model answers grounded questions with (lm/adapters/).
"""
