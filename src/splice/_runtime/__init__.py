"""How a run executes: a warm zygote forks one child per run; the parent serves its calls."""
