"""Reward-model library: encoders, heads, judges and datasets for preference data.

A plain Python library with no Django import. Importing ``models_rm`` is cheap: torch and
transformers are imported only by the submodules that need them (``models_rm.encoders`` and
whatever imports it, such as ``models_rm.judge``), so web processes can import the package and its
light modules (``conversation``, ``datasets``, ``cache``, ``heads``) without loading torch.
"""
