"""Explainable risk (daily factors) and tier proposals (分类管理)."""
