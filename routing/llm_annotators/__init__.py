"""LLM annotator backends: one module per kind, the same shape, a registry keyed by kind.

A backend turns instances (plain values) into ``LLMPairwiseLabel``s. Today: the local
reward-model judge from models_rm. OpenAI-compatible chat endpoints come later.
"""
