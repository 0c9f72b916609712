"""hopscope analysis library: everything the Snakemake workflow calls lives here."""

__version__ = "0.1.0"
