"""Sanctions and praise (考核奖惩), monthly assessment, obligations ledger."""
