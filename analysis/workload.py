"""Work sizes from which a job runs in more than one process.

Kept apart from the code that starts the processes so the workflow can size a job's ``threads:`` without importing
the numerical stack (the Snakefile imported :mod:`analysis.stability` for this one number: 1.5 s of every
``snakemake`` start spent importing scikit-learn, SciPy and HDBSCAN).
"""

# events × resamples from which the bootstrap subsets are clustered in worker processes. Measured on 2 cores:
# 1,000 × 100 19.1 s in one process, 18.2 s in two; 2,000 × 20 13.8 s vs 18.2 s; 2,000 × 100 36.2 s vs 26.6 s;
# 5,000 × 100 45.1 s vs 34.7 s (each worker starts cold: imports, and the Gaussian nulls its subsets need computed again).
# Since one set of null samples serves every smallest group (analysis/cluster.py, bench/cluster_scale.py): 2,000 × 100
# 17.7 s vs 14.7 s, 5,000 × 100 24.3 s vs 17.1 s; two processes still win from here on
PARALLEL_MIN_WORK = 200_000
