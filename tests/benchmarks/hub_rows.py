"""Small rows in the Hugging Face hub formats of the benchmarks bakeoff scores like the harness,
and where each task's evaluated split lies under a data folder. Used by the harness comparison
(test_bench_vs_harness_prompts.py, which needs lm-eval) and by tests that need none (GLUE and
SuperGLUE runs through the runner, the report's claims), so they import without lm-eval."""

from __future__ import annotations

from typing import Any

ROWS: dict[str, list[dict[str, Any]]] = {
    "cola": [{"sentence": "Bill sang himself hoarse.", "label": 1, "idx": 0}],
    "sst2": [{"sentence": "a gorgeous , witty film", "label": 1, "idx": 0}],
    "mrpc": [{"sentence1": "He said hi.", "sentence2": "He greeted.", "label": 1, "idx": 0}],
    "qqp": [{"question1": "Why?", "question2": "How come?", "label": 1, "idx": 0}],
    "mnli": [
        {"premise": "A man eats.", "hypothesis": "Someone eats", "label": 0, "idx": 0},
        {"premise": "A man eats.", "hypothesis": " Nobody eats. ", "label": 2, "idx": 1},
    ],
    "qnli": [{"question": "Who?", "sentence": "Me.", "label": 0, "idx": 0}],
    "pair": [{"sentence1": "It rains.", "sentence2": "It is wet.", "label": 0, "idx": 0}],
    "boolq": [{"question": "is it", "passage": "It is.", "label": 1, "idx": 0}],
    "cb": [{"premise": "P.", "hypothesis": "H", "label": 2, "idx": 0}],
    "copa": [
        {
            "premise": "My body cast a shadow over the grass.",
            "choice1": "The sun was rising.",
            "choice2": "The grass was cut.",
            "question": "cause",
            "label": 0,
            "idx": 0,
        }
    ],
    "multirc": [
        {
            "paragraph": "Para.",
            "question": "Q?",
            "answer": "a",
            "idx": {"paragraph": 0, "question": 0, "answer": 0},
            "label": 1,
        }
    ],
    "sg_rte": [{"premise": "It rains.", "hypothesis": "It is wet.", "label": 0, "idx": 0}],
    "wic": [
        {
            "word": "place",
            "sentence1": "Do you want to come over to my place later?",
            "sentence2": "A political system with no place for the less prominent groups.",
            "start1": 31,
            "end1": 36,
            "start2": 27,
            "end2": 32,
            "label": 0,
            "idx": 0,
        }
    ],
    "wsc": [
        {
            "text": "Mark told Pete many lies about himself, which Pete included in his book. "
            "He should n't have been so ( untruthful ) .",
            "span1_index": 0,
            "span2_index": 13,
            "span1_text": "Mark",
            "span2_text": "He",
            "label": 0,
            "idx": 0,
        }
    ],
    "arc": [
        {
            "id": "Mercury_1",
            "question": "Which is a gas?",
            "choices": {"text": ["ice", "steam", "rock"], "label": ["A", "B", "C"]},
            "answerKey": "B",
        },
        {
            "id": "NY_2",
            "question": "Pick two.",
            "choices": {"text": ["one", "two"], "label": ["1", "2"]},
            "answerKey": "2",
        },
    ],
    "piqa": [{"goal": "Open a jar", "sol1": "Twist.", "sol2": "Freeze.", "label": 0}],
    "hellaswag": [
        {
            "ind": 92,
            "activity_label": "Home and Garden",
            "ctx_a": "[header] How to clean a pan [title] Soak it.",
            "ctx_b": "",
            "endings": ["[step] Scrub it.", "Burn it.", "Paint  it.", "Sell it."],
            "label": "0",
        }
    ],
    "winogrande": [
        {
            "sentence": "Sarah was a better surgeon than Maria so _ got the harder cases.",
            "option1": "Sarah",
            "option2": "Maria",
            "answer": "1",
        }
    ],
    "medqa": [
        {
            "sent1": "What is 2+2?",
            "ending0": "3",
            "ending1": "4",
            "ending2": "5",
            "ending3": "22",
            "label": 1,
        }
    ],
    "lambada": [{"text": "The cat sat on the mat and then the cat"}],
}

# (bakeoff task, harness YAML, rows, bakeoff's local stem for the evaluated split)
CASES = [
    ("glue-cola", "glue/cola/default.yaml", "cola", "glue/cola/validation"),
    ("glue-sst2", "glue/sst2/default.yaml", "sst2", "glue/sst2/validation"),
    ("glue-mrpc", "glue/mrpc/default.yaml", "mrpc", "glue/mrpc/validation"),
    ("glue-qqp", "glue/qqp/default.yaml", "qqp", "glue/qqp/validation"),
    ("glue-mnli", "glue/mnli/default.yaml", "mnli", "glue/mnli/validation_matched"),
    ("glue-mnli-mm", "glue/mnli/mismatch.yaml", "mnli", "glue/mnli/validation_mismatched"),
    ("glue-qnli", "glue/qnli/default.yaml", "qnli", "glue/qnli/validation"),
    ("glue-rte", "glue/rte/default.yaml", "pair", "glue/rte/validation"),
    ("glue-wnli", "glue/wnli/default.yaml", "pair", "glue/wnli/validation"),
    ("superglue-boolq", "super_glue/boolq/default.yaml", "boolq", "super_glue/boolq/validation"),
    ("superglue-cb", "super_glue/cb/default.yaml", "cb", "super_glue/cb/validation"),
    ("superglue-copa", "super_glue/copa/default.yaml", "copa", "super_glue/copa/validation"),
    (
        "superglue-multirc",
        "super_glue/multirc/default.yaml",
        "multirc",
        "super_glue/multirc/validation",
    ),
    ("superglue-rte", "super_glue/rte/default.yaml", "sg_rte", "super_glue/rte/validation"),
    ("superglue-wic", "super_glue/wic/default.yaml", "wic", "super_glue/wic/validation"),
    ("superglue-wsc", "super_glue/wsc/default.yaml", "wsc", "super_glue/wsc.fixed/validation"),
    ("arc-easy", "arc/arc_easy.yaml", "arc", "arc_easy/test"),
    ("arc-challenge", "arc/arc_challenge.yaml", "arc", "arc_challenge/test"),
    ("piqa", "piqa/piqa.yaml", "piqa", "piqa/validation"),
    ("hellaswag", "hellaswag/hellaswag.yaml", "hellaswag", "hellaswag/validation"),
    ("winogrande", "winogrande/default.yaml", "winogrande", "winogrande/validation"),
    ("medqa", "medqa/medqa.yaml", "medqa", "medqa/test"),
    ("lambada", "lambada/lambada_openai.yaml", "lambada", "lambada_openai/test"),
]
