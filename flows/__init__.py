"""Prefect flows: thin @flow/@task wrappers over coalition_metrics.pipeline."""
