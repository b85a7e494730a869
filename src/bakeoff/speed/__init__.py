"""Speed and efficiency lab: latency, throughput under load, memory and energy.

Data flows prompts → load (async drivers, one stream per request, timed per chunk on a monotonic
clock) → per-request ``SpeedRecord`` → metrics (summaries, goodput) → storage and report. See
docs/speed.md for the metric definitions.
"""
