"""Syntax -> sites: the only part of biaslint that knows libcst and the frameworks."""

from biaslint.collect.collector import analyse_source

__all__ = ["analyse_source"]
