"""Draw README's picture of the results: python docs/make_results_png.py

Trains the book's recipe (nblib.SpiralConfig()) and saves the source chapter's
three panels (loss, test accuracy, decision boundary) to docs/results.png.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import nblib  # noqa: E402
from nblib.viz.plots import plot_results  # noqa: E402

result = nblib.train_spirals(nblib.SpiralConfig(), progress=False)
axes = plot_results(result, bayes=nblib.bayes_accuracy())
out = Path(__file__).with_name("results.png")
axes[0].figure.savefig(out, dpi=80, bbox_inches="tight")
print(f"wrote {out} (test accuracy {result.test_accuracy:.1%})")
