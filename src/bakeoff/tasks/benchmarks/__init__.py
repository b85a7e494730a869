"""Published benchmarks (GLUE, SuperGLUE, LAMBADA, LegalBench, MedQA, MMLU, ARC, HellaSwag, PIQA,
WinoGrande), prompted and scored the way lm-evaluation-harness does; see docs/benchmarks.md."""
