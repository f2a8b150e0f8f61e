"""Benchmark of feedsvc: dataset generator, load runner (wrk), nginx wrapper, report."""
