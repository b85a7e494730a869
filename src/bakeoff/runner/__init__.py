"""Running plans: scheduling, execution, scoring and storing, with resume."""
